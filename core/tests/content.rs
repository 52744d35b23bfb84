//! The embedded card library as members meet it: it lints clean, every
//! topic the bot promises is reachable by `learn` and by everyday `search`
//! phrasing, and autocomplete stays within Discord's 25 choices.

use ipt_core::content::{Library, Lookup, Section, lint};

fn library() -> &'static Library {
    Library::embedded()
}

#[test]
fn test_embedded_cards_pass_lint() {
    let issues = lint();
    assert!(
        issues.is_empty(),
        "{}",
        issues
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        library().cards().len() >= 40,
        "only {} cards",
        library().cards().len()
    );
}

#[test]
fn test_every_section_has_cards() {
    let sections: Vec<Section> = library().by_section().into_iter().map(|(s, _)| s).collect();
    assert_eq!(sections, Section::ALL.to_vec());
}

/// Everyday queries and the card a member would hope for in the top three.
const QUERIES: &[(&str, &str)] = &[
    ("my mum passed away", "grief"),
    ("dad died last year", "grief"),
    (
        "i can't stop missing my grandmother since the funeral",
        "grief",
    ),
    ("how do i mourn someone", "grief-work"),
    ("writing a letter to someone who died", "grief-work"),
    ("we keep fighting", "role-disputes"),
    ("arguments with my husband", "role-disputes"),
    (
        "my partner and i disagree about everything",
        "role-disputes",
    ),
    ("new job", "role-transitions"),
    ("just moved to a new city", "role-transitions"),
    ("had a baby and feel lost", "role-transitions"),
    ("retired and don't know what to do", "role-transitions"),
    ("going through a divorce", "role-transitions"),
    ("lonely", "interpersonal-deficits"),
    ("i have no friends", "interpersonal-deficits"),
    ("i feel so alone", "interpersonal-deficits"),
    ("what is depression", "what-is-depression"),
    ("what is ipt", "what-is-ipt"),
    ("interpersonal psychotherapy", "what-is-ipt"),
    ("does ipt work research", "ipt-evidence"),
    ("group therapy", "group-ipt"),
    ("are you a therapist", "peer-support-vs-therapy"),
    ("i want to die", "urgent-help"),
    ("suicidal thoughts", "urgent-help"),
    ("how do i find a therapist", "finding-an-ipt-therapist"),
    ("what should i ask a therapist", "questions-for-a-therapist"),
    ("why should i try ipt", "benefits-of-ipt"),
    ("how to stop depression coming back", "relapse-prevention"),
    ("first sessions of therapy", "initial-phase"),
    ("i feel lazy and useless", "sick-role"),
    ("list the people in my life", "interpersonal-inventory"),
    ("therapy is ending soon", "termination-phase"),
    ("how to say what i need", "effective-communication"),
    ("a conversation went badly", "communication-analysis"),
    ("practice a hard talk before i have it", "role-play"),
    ("i can't decide what to do", "decision-analysis"),
    ("how do i say no", "setting-boundaries"),
    ("people pleaser", "setting-boundaries"),
    (
        "i feel overwhelmed and can't calm down",
        "emotional-regulation",
    ),
    ("journaling about feelings", "expressive-techniques"),
    ("making a safety plan", "crisis-skills"),
    ("homework between sessions", "between-session-work"),
    (
        "what does my friend expect from me",
        "exploring-expectations",
    ),
    ("i just want to feel heard", "affirmation-and-validation"),
    ("how to argue better", "constructive-conflict"),
    ("setting goals", "clear-goals"),
    ("i feel numb", "exploring-emotions"),
    ("pros and cons of a big change", "old-role-new-role"),
];

#[test]
fn test_everyday_queries_find_the_right_card_in_the_top_three() {
    let mut misses = Vec::new();
    for (query, expected) in QUERIES {
        let top: Vec<&str> = library()
            .search(query, 3)
            .iter()
            .map(|h| h.card.id.as_str())
            .collect();
        if !top.contains(expected) {
            misses.push(format!("{query:?}: expected {expected}, got {top:?}"));
        }
    }
    assert!(QUERIES.len() >= 40);
    assert!(
        misses.is_empty(),
        "{} of {} missed:\n{}",
        misses.len(),
        QUERIES.len(),
        misses.join("\n")
    );
}

#[test]
fn test_every_promised_topic_is_reachable_by_learn() {
    let topics = [
        ("depression", "what-is-depression"),
        ("ipt", "what-is-ipt"),
        ("evidence", "ipt-evidence"),
        ("group ipt", "group-ipt"),
        ("initial phase", "initial-phase"),
        ("sick role", "sick-role"),
        ("inventory", "interpersonal-inventory"),
        ("formulation", "interpersonal-formulation"),
        ("middle phase", "middle-phase"),
        ("termination", "termination-phase"),
        ("grief", "grief"),
        ("role disputes", "role-disputes"),
        ("role transitions", "role-transitions"),
        ("interpersonal deficits", "interpersonal-deficits"),
        ("interpersonal sensitivity", "interpersonal-deficits"),
        ("understanding relationships", "understanding-relationships"),
        ("problem areas", "spotlighting-problem-areas"),
        ("goals", "clear-goals"),
        ("emotions", "exploring-emotions"),
        ("communication", "effective-communication"),
        ("conflict resolution", "constructive-conflict"),
        ("present focus", "present-focus"),
        ("role play", "role-play"),
        ("communication analysis", "communication-analysis"),
        ("problem solving", "decision-analysis"),
        ("decision analysis", "decision-analysis"),
        ("grief work", "grief-work"),
        ("role transition exploration", "old-role-new-role"),
        ("crisis management", "crisis-skills"),
        ("boundaries", "setting-boundaries"),
        ("clarification", "clarification"),
        ("expectations", "exploring-expectations"),
        ("validation", "affirmation-and-validation"),
        ("expressive techniques", "expressive-techniques"),
        ("emotional regulation", "emotional-regulation"),
        ("homework", "between-session-work"),
        ("benefits", "benefits-of-ipt"),
        ("relapse prevention", "relapse-prevention"),
        ("find a therapist", "finding-an-ipt-therapist"),
        ("questions for a therapist", "questions-for-a-therapist"),
        ("peer support", "peer-support-vs-therapy"),
        ("urgent help", "urgent-help"),
    ];
    let mut misses = Vec::new();
    for (topic, expected) in topics {
        match library().lookup(topic) {
            Lookup::Found(card) if card.id == expected => {}
            Lookup::Found(card) => misses.push(format!(
                "learn {topic:?}: expected {expected}, got {}",
                card.id
            )),
            Lookup::Suggestions(cards) => {
                let ids: Vec<&str> = cards.iter().map(|c| c.id.as_str()).collect();
                misses.push(format!(
                    "learn {topic:?}: expected {expected}, got choices {ids:?}"
                ));
            }
            Lookup::NotFound => {
                misses.push(format!("learn {topic:?}: expected {expected}, got nothing"))
            }
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn test_learn_forgives_typos_and_suggests_when_unsure() {
    for (typo, expected) in [
        ("greif", "grief"),
        ("role-disptes", "role-disputes"),
        ("interpersonal inventroy", "interpersonal-inventory"),
        ("Role Transitions", "role-transitions"),
        ("bounderies", "setting-boundaries"),
    ] {
        match library().lookup(typo) {
            Lookup::Found(card) => assert_eq!(card.id, expected, "{typo}"),
            Lookup::Suggestions(cards) => {
                panic!(
                    "{typo}: only suggestions {:?}",
                    cards.iter().map(|c| &c.id).collect::<Vec<_>>()
                )
            }
            Lookup::NotFound => panic!("{typo}: nothing"),
        }
    }
    assert_eq!(library().lookup("qwertyuiop zxcv"), Lookup::NotFound);
}

#[test]
fn test_every_card_lists_related_cards_that_exist() {
    for card in library().cards() {
        assert!(!card.related.is_empty(), "{} has no related cards", card.id);
        for id in &card.related {
            assert!(library().get(id).is_some(), "{} → {id}", card.id);
        }
    }
}

#[test]
fn test_autocomplete_never_offers_more_than_25_choices() {
    for typed in ["", "r", "role", "gr", "zzzz", "e"] {
        let choices = library().autocomplete(typed);
        assert!(choices.len() <= 25, "{typed:?}: {}", choices.len());
    }
    let role: Vec<&str> = library()
        .autocomplete("role")
        .iter()
        .map(|(_, id)| *id)
        .collect();
    assert!(
        role.contains(&"role-disputes") && role.contains(&"role-transitions"),
        "{role:?}"
    );
    assert_eq!(
        library().autocomplete("greif").first().map(|(_, id)| *id),
        Some("grief"),
        "typos fall back to search"
    );
}

#[test]
fn test_daily_card_does_not_repeat_within_30_days() {
    let lib = library();
    let mut recent: Vec<String> = Vec::new();
    for day in 0..30u64 {
        let card = lib.daily_card(7_000 + day, &recent).unwrap();
        assert!(
            !recent.contains(&card.id),
            "day {day}: {} repeated",
            card.id
        );
        recent.push(card.id.clone());
    }
    assert_eq!(
        lib.daily_card(42, &[]).unwrap().id,
        lib.daily_card(42, &[]).unwrap().id,
        "stable for a seed"
    );
}

#[test]
fn test_cards_show_commands_in_the_platform_prefix() {
    let lib = library();
    let card = lib.get("urgent-help").unwrap();
    let matrix = ipt_core::content::render(card, lib, "!ipt ");
    assert!(matrix.contains("`!ipt resources`"), "{matrix}");
    assert!(!matrix.contains("`/resources`"));
}
