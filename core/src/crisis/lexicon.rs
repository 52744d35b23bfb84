//! The detector's phrase patterns and context rules.
//!
//! A pattern is a sequence of slots over normalised words. A slot lists
//! alternatives separated by `|`; a trailing `*` matches any word starting
//! so; `~N` skips up to N words. Words are compared squeezed (runs of a
//! letter collapsed), so "killlll" and "kill" are alike.

use std::sync::OnceLock;

use super::normalize::{squeeze, words};
use super::{Assessment, Level};

/// What a matched pattern means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Active wish to die or to kill oneself, or self-harm. Explicitly
    /// about the writer ("myself", "my life").
    Active,
    /// Like `Active` but without a built-in "I" ("suicidal", "want to die"):
    /// only counts when the writer is the subject.
    ActiveGeneric,
    /// "end it", "do it": only counts with a time, a plan or a goodbye.
    Vague,
    /// Passive ideation, hopelessness, burden.
    Passive,
    /// A goodbye that means it ("my last message", "won't be around").
    FarewellStrong,
    /// A goodbye that needs a time or another sign ("goodbye all").
    FarewellWeak,
    /// An act in progress ("just swallowed a handful").
    Act,
    /// A time: tonight, friday, at midnight.
    Time,
    /// A plan or readiness: "everything is sorted", "have everything i need".
    Plan,
    /// Letters or a note to family or everyone.
    Letters,
    /// "Won't be around": a goodbye only next to another sign.
    Absence,
    /// Pills or tablets got ready ("the tablets ready").
    Stash,
    /// A high place, or tracks.
    Place,
    /// A stated intent: "going to", "gonna", "about to".
    Intent,
    /// Jumping, which needs a place and an intent.
    Jump,
}

const PATTERNS: &[(Kind, &str)] = &[
    // Active, first person built in.
    (
        Kind::Active,
        "kil|kiling|kils|unalive|unaliving myself|myslf|meself",
    ),
    (Kind::Active, "kil|kiling|unalive my self"),
    (Kind::Active, "kms"),
    (Kind::Active, "end|ending|take|taking my ~1 life"),
    (Kind::Active, "end|ending it al"),
    (Kind::Active, "feel|felt like ending|end it"),
    (Kind::Active, "want|wanted|wanting|wana|ned to end it"),
    (Kind::Active, "thinking|think about|of ending|end it"),
    (
        Kind::Active,
        "want|wanted|wanting|wana|wish|wishing to be dead",
    ),
    (Kind::Active, "wish i was|were dead"),
    (Kind::Active, "wish i could be dead"),
    (Kind::Active, "beter off dead"),
    (Kind::Active, "dont want to live"),
    (Kind::Active, "dont want to be alive"),
    (Kind::Active, "do not want to live"),
    (
        Kind::Active,
        "cut|cuting|burn|burning|hurt|hurting|harm|harming|hit|hiting|starve|starving myself",
    ),
    (
        Kind::Active,
        "cut|cuting|burn|burning|hurt|hurting|harm|harming my self",
    ),
    (Kind::Active, "self harm*"),
    (Kind::Active, "selfharm*"),
    (Kind::Active, "how to kil|end myself|my"),
    // Active, needs the writer as subject.
    (
        Kind::ActiveGeneric,
        "suicid*|sucid*|suicd*|sewerslide|unalived",
    ),
    (Kind::ActiveGeneric, "sewer slide"),
    (Kind::ActiveGeneric, "want|wanting|wish|ready|going to die"),
    (Kind::ActiveGeneric, "wana|gona die"),
    (Kind::ActiveGeneric, "overdose|overdosing|overdosed"),
    (Kind::ActiveGeneric, "cant wait to die"),
    // Vague: needs a time, a plan or a goodbye.
    (Kind::Vague, "end|ending it"),
    (Kind::Vague, "do it"),
    (Kind::Vague, "go through with it"),
    // Passive.
    (Kind::Passive, "beter off ~1 without me"),
    (Kind::Passive, "beter off if i|im"),
    (Kind::Passive, "wish|want ~3 disappear|vanish"),
    (
        Kind::Passive,
        "point of|in being|living|life|trying|anything|going|existing",
    ),
    (
        Kind::Passive,
        "no point ~1 living|trying|anything|going|existing|being",
    ),
    (Kind::Passive, "dont see the point"),
    (Kind::Passive, "whats the point ~2 anymore"),
    (Kind::Passive, "burden"),
    (Kind::Passive, "cant keep doing|going ~1 this|on"),
    (Kind::Passive, "cant go on"),
    (Kind::Passive, "cant do this ~1 anymore"),
    (Kind::Passive, "cant take it|this ~1 anymore"),
    (Kind::Passive, "nothing left for me"),
    (Kind::Passive, "nothing to live for"),
    (Kind::Passive, "no reason to live"),
    (Kind::Passive, "nobody|noone would ~1 miss|care"),
    (Kind::Passive, "no one would ~1 miss|care"),
    (Kind::Passive, "nobody|noone cares"),
    (Kind::Passive, "no one cares"),
    (Kind::Passive, "if i was|were gone"),
    (Kind::Passive, "never get|be|going ~1 beter"),
    (Kind::Passive, "not|never wake up"),
    (Kind::Passive, "sleep forever"),
    (
        Kind::Passive,
        "exhausted|tired|sick by|of life|living|existing|being",
    ),
    (Kind::Passive, "hopeles*"),
    (Kind::Passive, "wish i was|had never|not been born"),
    (Kind::Passive, "wish i didnt exist"),
    (Kind::Passive, "dont want to exist"),
    (Kind::Passive, "dont want to be here ~1 anymore"),
    (Kind::Passive, "hate my life"),
    (Kind::Passive, "hate being alive"),
    (Kind::Passive, "want it al|everything to stop|end"),
    (Kind::Passive, "give up on ~1 life|everything"),
    // Goodbyes.
    (Kind::FarewellStrong, "this will be|is my last"),
    (Kind::FarewellStrong, "my last goodbye"),
    (Kind::FarewellStrong, "final goodbye"),
    (
        Kind::FarewellStrong,
        "giving|gave away my|al ~1 things|stuf|belongings|posesions",
    ),
    (Kind::FarewellStrong, "suicide note"),
    (Kind::FarewellStrong, "its been nice knowing"),
    (Kind::FarewellStrong, "goodbye|godbye|bye forever"),
    (Kind::FarewellWeak, "goodbye|godbye|farewel"),
    (Kind::FarewellWeak, "saying bye"),
    (Kind::FarewellWeak, "my last message|post|words"),
    (Kind::FarewellWeak, "thank you for everything"),
    (Kind::Letters, "leters|leter|note|notes to my|everyone"),
    (
        Kind::Letters,
        "writen|wrote|writing ~2 leters|leter|note|notes",
    ),
    (Kind::Absence, "wont be around|here"),
    (Kind::Absence, "wil not be around|here"),
    // Acts in progress.
    (
        Kind::Act,
        "just took|swalowed|taken|drank ~3 pils|tablets|pil|bottle|handful",
    ),
    (
        Kind::Act,
        "swalowed|took|taken ~2 handful|bottle|al my|al the",
    ),
    // Boosters.
    (
        Kind::Time,
        "tonight|tonights|tomorow|midnight|friday|saturday|sunday|monday|tuesday|wednesday|thursday|weekend",
    ),
    (Kind::Time, "right now"),
    (Kind::Time, "after everyone"),
    (Kind::Time, "in an hour"),
    (Kind::Time, "this evening"),
    (Kind::Plan, "everything is sorted|ready|planed|set"),
    (Kind::Plan, "everythings sorted|ready|planed|set"),
    (Kind::Plan, "have|got everything i ned"),
    (Kind::Plan, "have|got|made a plan"),
    (Kind::Plan, "decided"),
    (Kind::Plan, "planing|planed"),
    (Kind::Stash, "pils|tablets ready|stockpiled|saved|colected"),
    (Kind::Stash, "got|have the|al ~1 pils|tablets"),
    (Kind::Stash, "emojipils|emojiknife|emojigun|emojirope"),
    (
        Kind::Place,
        "rof|bridge|ledge|clif|edge|window|building|tracks",
    ),
    (Kind::Intent, "going|about|planing|ready|decided to"),
    (Kind::Intent, "gona"),
    (Kind::Intent, "im taking|taking them"),
    (Kind::Jump, "jump|jumping"),
];

/// Words that, just before a signal, negate it.
const NEGATORS: &[&str] = &[
    "not", "never", "no", "dont", "wont", "wouldnt", "isnt", "arent", "nor", "without",
];
/// Subjects that make a generic signal about someone else.
const OTHERS: &[&str] = &[
    "he",
    "she",
    "they",
    "hes",
    "shes",
    "theyre",
    "his",
    "her",
    "their",
    "them",
    "him",
    "friend",
    "friends",
    "brother",
    "sister",
    "mum",
    "mom",
    "dad",
    "mother",
    "father",
    "uncle",
    "aunt",
    "cousin",
    "son",
    "daughter",
    "husband",
    "wife",
    "partner",
    "boyfriend",
    "girlfriend",
    "someone",
    "somebody",
    "people",
    "person",
    "man",
    "woman",
    "character",
    "poem",
    "song",
    "film",
    "movie",
    "book",
    "show",
    "news",
    "article",
    "story",
    "author",
    "singer",
    "we",
    "you",
    "us",
    "kid",
    "kids",
    "student",
    "students",
    "patient",
    "client",
];
/// Subjects that make a generic signal about the writer.
const SELF: &[&str] = &["i", "im", "ive", "id", "ill", "me", "my", "myself", "mine"];
/// Words after "suicide" that make it a topic, not a feeling.
const TOPIC_AFTER: &[&str] = &[
    "prevention",
    "awareness",
    "hotline",
    "helpline",
    "line",
    "lines",
    "rate",
    "rates",
    "statistics",
    "stats",
    "research",
    "training",
    "squad",
    "month",
];
/// Phrases that mean the writer is asking how to help someone else.
const HELPING: &[&str] = &[
    "help a friend",
    "help my friend",
    "help someone",
    "help somebody",
    "support a friend",
    "support my friend",
    "asking for a friend",
    "for a friend",
    "how do i help",
    "how can i help",
    "how to help",
    "what do i say to",
    "what should i say to",
];
/// Past-tense markers, and words saying things are better now.
const PAST: &[&str] = &[
    "was", "were", "used", "ago", "had", "back", "college", "teen", "teenager", "school", "once",
];
const RECOVERY: &[&str] = &[
    "beter",
    "recovered",
    "recovery",
    "helped",
    "survived",
    "past",
    "healed",
    "okay",
    "fine",
    "good",
];

#[derive(Debug)]
struct Pattern {
    kind: Kind,
    slots: Vec<Slot>,
}

#[derive(Debug)]
enum Slot {
    Words(Vec<Word>),
    Gap(usize),
}

#[derive(Debug)]
enum Word {
    Exact(String),
    Prefix(String),
}

impl Word {
    fn matches(&self, token: &str) -> bool {
        match self {
            Word::Exact(w) => w == token,
            Word::Prefix(p) => token.starts_with(p.as_str()),
        }
    }
}

#[derive(Debug)]
pub(super) struct Lexicon {
    patterns: Vec<Pattern>,
    /// Patterns by the exact words their first slot accepts, bucketed by
    /// first byte: each token tries only the patterns that can start with it.
    by_first: Vec<Vec<(String, usize)>>,
    /// Patterns whose first slot has a prefix word, bucketed by first byte.
    by_prefix: Vec<Vec<(String, usize)>>,
    /// The helping phrases, squeezed, as words.
    helping: Vec<Vec<String>>,
}

/// One pattern found at `start..end` (token indexes).
#[derive(Debug, Clone, Copy)]
struct Found {
    kind: Kind,
    start: usize,
    end: usize,
}

impl Lexicon {
    pub(super) fn get() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(|| {
            let patterns: Vec<Pattern> = PATTERNS
                .iter()
                .map(|&(kind, text)| Pattern {
                    kind,
                    slots: text
                        .split(' ')
                        .map(|slot| match slot.strip_prefix('~') {
                            Some(n) => Slot::Gap(n.parse().expect("gap size")),
                            None => Slot::Words(
                                slot.split('|')
                                    .map(|w| match w.strip_suffix('*') {
                                        Some(p) => Word::Prefix(squeeze(p)),
                                        None => Word::Exact(squeeze(w)),
                                    })
                                    .collect(),
                            ),
                        })
                        .collect(),
                })
                .collect();
            let mut by_first: Vec<Vec<(String, usize)>> = vec![Vec::new(); 256];
            let mut by_prefix: Vec<Vec<(String, usize)>> = vec![Vec::new(); 256];
            for (i, p) in patterns.iter().enumerate() {
                let Some(Slot::Words(words)) = p.slots.first() else {
                    panic!("a pattern must start with words");
                };
                for w in words {
                    match w {
                        Word::Exact(w) => {
                            by_first[usize::from(w.as_bytes()[0])].push((w.clone(), i))
                        }
                        Word::Prefix(p) => {
                            by_prefix[usize::from(p.as_bytes()[0])].push((p.clone(), i))
                        }
                    }
                }
            }
            let helping = HELPING
                .iter()
                .map(|h| h.split(' ').map(squeeze).collect())
                .collect();
            Lexicon {
                patterns,
                by_first,
                by_prefix,
                helping,
            }
        })
    }

    fn find(&self, tokens: &[&str]) -> Vec<Found> {
        let mut found = Vec::new();
        for (start, token) in tokens.iter().enumerate() {
            let bucket = token
                .as_bytes()
                .first()
                .map_or(&[][..], |&b| &self.by_first[usize::from(b)][..]);
            let exact = bucket.iter().filter(|(w, _)| w == token).map(|(_, i)| *i);
            let prefixes = token
                .as_bytes()
                .first()
                .map_or(&[][..], |&b| &self.by_prefix[usize::from(b)][..]);
            let prefixed = prefixes
                .iter()
                .filter(|(p, _)| token.starts_with(p.as_str()))
                .map(|(_, i)| *i);
            for i in exact.chain(prefixed) {
                let p = &self.patterns[i];
                if let Some(end) = match_at(&p.slots, tokens, start) {
                    found.push(Found {
                        kind: p.kind,
                        start,
                        end,
                    });
                }
            }
        }
        found
    }

    pub(super) fn assess(&self, text: &str) -> Assessment {
        let normalized = words(text);
        let tokens: Vec<&str> = normalized.squeezed();
        let mut signals = Vec::new();
        if tokens.is_empty() {
            return Assessment {
                level: Level::None,
                signals,
            };
        }
        let found = self.find(&tokens);
        if found.is_empty() {
            // The common case: ordinary chat, nothing to weigh.
            return Assessment {
                level: Level::None,
                signals,
            };
        }
        let mut active = false;
        let mut vague = false;
        let mut passive = false;
        let mut strong_farewell = false;
        let mut weak_farewell = false;
        let mut letters = false;
        let mut absence = false;
        let mut act = false;
        let mut time = false;
        let mut plan = false;
        let mut stash = false;
        let mut place = false;
        let mut intent = false;
        let mut jump = false;

        for f in found {
            let phrase = (f.start..f.end)
                .map(|i| normalized.plain(i))
                .collect::<Vec<_>>()
                .join(" ");
            let needs_context = matches!(
                f.kind,
                Kind::Active | Kind::ActiveGeneric | Kind::Vague | Kind::Passive
            );
            if needs_context && let Some(reason) = set_aside(&tokens, &f, &self.helping) {
                signals.push(format!("{reason}: \"{phrase}\""));
                continue;
            }
            let label = match f.kind {
                Kind::Active | Kind::ActiveGeneric => {
                    active = true;
                    "active"
                }
                Kind::Vague => {
                    vague = true;
                    "vague"
                }
                Kind::Passive => {
                    passive = true;
                    "passive"
                }
                Kind::FarewellStrong => {
                    strong_farewell = true;
                    "goodbye"
                }
                Kind::FarewellWeak => {
                    weak_farewell = true;
                    "goodbye (weak)"
                }
                Kind::Act => {
                    act = true;
                    "act in progress"
                }
                Kind::Time => {
                    time = true;
                    "time"
                }
                Kind::Plan => {
                    plan = true;
                    "plan"
                }
                Kind::Letters => {
                    letters = true;
                    "letters"
                }
                Kind::Absence => {
                    absence = true;
                    "absence"
                }
                Kind::Stash => {
                    stash = true;
                    "means got ready"
                }
                Kind::Place => {
                    place = true;
                    "place"
                }
                Kind::Intent => {
                    intent = true;
                    "intent"
                }
                Kind::Jump => {
                    jump = true;
                    "jump"
                }
            };
            signals.push(format!("{label}: \"{phrase}\""));
        }
        let plain_text = (0..normalized.len())
            .map(|i| normalized.plain(i))
            .collect::<Vec<_>>()
            .join(" ");
        if plain_text != text.trim().to_lowercase() {
            signals.push("disguised words undone".to_owned());
        }

        let level = if act
            || strong_farewell
            || (active && (time || plan || stash || letters || weak_farewell))
            || (vague && (time || plan || weak_farewell || letters || strong_farewell))
            || (letters && time)
            || (weak_farewell && absence)
            || (jump && intent && place)
            || (stash && (time || intent))
        {
            Level::Imminent
        } else if active {
            Level::Urgent
        } else if passive {
            Level::Concern
        } else {
            Level::None
        };
        // Boosters alone say nothing; keep the list to what mattered.
        if level == Level::None {
            signals.retain(|s| {
                ![
                    "time",
                    "plan",
                    "means got ready",
                    "place",
                    "intent",
                    "jump",
                    "goodbye (weak)",
                    "vague",
                    "letters",
                    "absence",
                ]
                .iter()
                .any(|k| s.starts_with(&format!("{k}:")))
            });
        }
        Assessment { level, signals }
    }
}

/// Tries the slots at `start`; returns the end of the match.
fn match_at(slots: &[Slot], tokens: &[&str], start: usize) -> Option<usize> {
    fn go(slots: &[Slot], tokens: &[&str], at: usize) -> Option<usize> {
        let Some((slot, rest)) = slots.split_first() else {
            return Some(at);
        };
        match slot {
            Slot::Words(words) => {
                let token = *tokens.get(at)?;
                if token != "." && words.iter().any(|w| w.matches(token)) {
                    go(rest, tokens, at + 1)
                } else {
                    None
                }
            }
            Slot::Gap(n) => (0..=*n).find_map(|skip| {
                if tokens[at..].iter().take(skip).any(|t| *t == ".") {
                    return None;
                }
                go(rest, tokens, at + skip)
            }),
        }
    }
    go(slots, tokens, start)
}

/// Whether a squeezed token is in a word list (the lists are written
/// plainly, so they are squeezed for the comparison: "good" → "god").
fn listed(list: &[&str], token: &str) -> bool {
    list.iter().any(|w| squeezed_eq(w, token))
}

/// `squeeze(word) == token`, without allocating.
fn squeezed_eq(word: &str, token: &str) -> bool {
    let mut t = token.chars();
    let mut last = None;
    for c in word.chars() {
        if Some(c) == last {
            continue;
        }
        last = Some(c);
        if t.next() != Some(c) {
            return false;
        }
    }
    t.next().is_none()
}

/// Words that end a backward search for a negator or subject: "no i really
/// want to die" is not negated.
const STOPS: &[&str] = &["but", "and", "so", "because", "cause"];

/// Why a signal does not count, if it does not.
fn set_aside(tokens: &[&str], f: &Found, helping_phrases: &[Vec<String>]) -> Option<&'static str> {
    let clause_start = tokens[..f.start]
        .iter()
        .rposition(|t| *t == ".")
        .map_or(0, |i| i + 1);
    let clause_end = tokens[f.end..]
        .iter()
        .position(|t| *t == ".")
        .map_or(tokens.len(), |i| f.end + i);
    let before = &tokens[clause_start..f.start];
    let span = &tokens[f.start..f.end];
    let after = &tokens[f.end..clause_end];
    // The words just before the signal, back to a subject or a conjunction.
    let near: Vec<&str> = before
        .iter()
        .rev()
        .take_while(|t| !listed(SELF, t) && !listed(OTHERS, t) && !listed(STOPS, t))
        .take(3)
        .copied()
        .collect();
    // "I would never hurt myself", "not suicidal", "not going to kill myself".
    if !listed(NEGATORS, tokens[f.start]) && near.iter().any(|t| listed(NEGATORS, t)) {
        return Some("negated");
    }
    // "cut myself a slice", "cut myself off", "cut myself some slack".
    if tokens[f.start] == "cut"
        && tokens
            .get(f.end)
            .is_some_and(|t| ["a", "some", "of", "slack", "short", "fre"].contains(t))
    {
        return Some("not self-harm");
    }
    // "kms" after a number is kilometres.
    if tokens[f.start] == "kms"
        && f.start > 0
        && tokens[f.start - 1].chars().all(|c| c.is_ascii_digit())
    {
        return Some("a distance");
    }
    // "suicide prevention": the noun as a topic (never "suicidal").
    if tokens[f.start] == "suicide" && tokens.get(f.end).is_some_and(|t| listed(TOPIC_AFTER, t)) {
        return Some("a topic");
    }
    // A pattern with "me", "my" or "myself" in it is about the writer.
    let first_person_span = span.iter().any(|t| listed(SELF, t));
    let generic = matches!(f.kind, Kind::ActiveGeneric | Kind::Passive | Kind::Vague);
    if generic && !first_person_span {
        // The nearest subject before the signal, in its clause, decides
        // whose it is; none means the writer (chat drops "I").
        let subject = before.iter().rev().find_map(|t| {
            if listed(SELF, t) {
                Some(true)
            } else if listed(OTHERS, t) {
                Some(false)
            } else {
                None
            }
        });
        if subject == Some(false) {
            return Some("other person");
        }
        let clause = &tokens[clause_start..clause_end];
        let helping = helping_phrases.iter().any(|phrase| {
            clause
                .windows(phrase.len())
                .any(|w| w.iter().zip(phrase).all(|(a, b)| *a == b))
        });
        if subject.is_none() && helping {
            return Some("helping someone else");
        }
    }
    // "I was suicidal in college but I'm in a much better place now": a
    // past marker before the signal and a recovery word after it.
    if before.iter().any(|t| listed(PAST, t)) && after.iter().any(|t| listed(RECOVERY, t)) {
        return Some("past, recovered");
    }
    None
}
