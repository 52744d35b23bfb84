//! `ipt-bot content lint`: checks every card file before it can reach a
//! member. Fails on broken or missing front matter, duplicate ids or
//! aliases, broken `related` links, over-long cards or summaries, reading
//! level above school grade 8, and forbidden phrasing (method details,
//! "commit suicide", "successful/failed attempt", promises of cure).

use std::collections::HashMap;

use super::search::normalize_words;
use super::{Card, parse_card};

/// Longest summary, in characters (fits a Discord embed or Matrix notice).
pub const MAX_SUMMARY_CHARS: usize = 200;
/// Longest card body, in words.
pub const MAX_BODY_WORDS: usize = 250;
/// Highest Flesch-Kincaid grade allowed for a card body.
pub const MAX_GRADE: f64 = 8.0;

/// One problem found by the linter.
#[derive(Debug, Clone, PartialEq)]
pub struct LintIssue {
    /// The file, relative to `content/`.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LintIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// Phrases a card must never contain, with the reason shown by the linter.
/// Checked on lower-cased text with punctuation folded to spaces.
const FORBIDDEN: &[(&str, &str)] = &[
    ("commit suicide", "say \"die by suicide\" (safe messaging)"),
    (
        "committed suicide",
        "say \"died by suicide\" (safe messaging)",
    ),
    (
        "commits suicide",
        "say \"dies by suicide\" (safe messaging)",
    ),
    ("successful suicide", "never describe suicide as a success"),
    ("successful attempt", "say \"attempt\" (safe messaging)"),
    ("failed attempt", "say \"attempt\" (safe messaging)"),
    ("unsuccessful attempt", "say \"attempt\" (safe messaging)"),
    ("cure", "never promise a cure"),
    ("cures", "never promise a cure"),
    ("cured", "never promise a cure"),
    ("guaranteed", "never promise results"),
    ("guarantee", "never promise results"),
    ("overdose", "no method details"),
    ("noose", "no method details"),
    ("hanging", "no method details"),
    ("razor", "no method details"),
    ("firearm", "no method details"),
    ("gun", "no method details"),
    ("poison", "no method details"),
    ("lethal", "no method details"),
    ("jump off", "no method details"),
    ("slit", "no method details"),
];

/// Lints every embedded card file.
pub fn lint() -> Vec<LintIssue> {
    lint_files(super::embedded_files())
}

/// Lints the given `(path relative to content/, text)` files.
pub fn lint_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<LintIssue> {
    let mut issues = Vec::new();
    let mut cards: Vec<(String, Card)> = Vec::new();
    for (file, text) in files {
        match parse_card(file, text) {
            Ok(card) => cards.push((file.to_owned(), card)),
            Err(e) => issues.push(LintIssue {
                file: e.file,
                message: e.message,
            }),
        }
    }
    if cards.is_empty() && issues.is_empty() {
        issues.push(LintIssue {
            file: "content/".into(),
            message: "no cards found".into(),
        });
    }
    let issue = |issues: &mut Vec<LintIssue>, file: &str, message: String| {
        issues.push(LintIssue {
            file: file.to_owned(),
            message,
        });
    };

    // Names (ids, titles, aliases) must lead to exactly one card per language.
    let mut names: HashMap<(String, String), String> = HashMap::new();
    for (file, card) in &cards {
        let own = std::iter::once(&card.id)
            .chain(std::iter::once(&card.title))
            .chain(&card.aliases);
        let mut mine = Vec::new();
        for name in own {
            let key = (card.lang.clone(), normalize_words(name));
            if mine.contains(&key) {
                continue;
            }
            mine.push(key.clone());
            if let Some(other) = names.insert(key, card.id.clone())
                && other != card.id
            {
                issue(
                    &mut issues,
                    file,
                    format!("\"{name}\" also names the card \"{other}\""),
                );
            }
        }
    }

    for (file, card) in &cards {
        if !card
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            issue(
                &mut issues,
                file,
                format!(
                    "id \"{}\" must be lower case words joined by hyphens",
                    card.id
                ),
            );
        }
        for id in &card.related {
            if id == &card.id {
                issue(
                    &mut issues,
                    file,
                    "a card cannot be related to itself".into(),
                );
            } else if !cards
                .iter()
                .any(|(_, c)| &c.id == id && c.lang == card.lang)
            {
                issue(
                    &mut issues,
                    file,
                    format!("related card \"{id}\" does not exist"),
                );
            }
        }
        let summary_len = card.summary.chars().count();
        if summary_len > MAX_SUMMARY_CHARS {
            issue(
                &mut issues,
                file,
                format!("summary has {summary_len} characters; at most {MAX_SUMMARY_CHARS}"),
            );
        }
        let words = word_count(&card.body);
        if words > MAX_BODY_WORDS {
            issue(
                &mut issues,
                file,
                format!("body has {words} words; at most {MAX_BODY_WORDS}"),
            );
        }
        if words == 0 {
            issue(&mut issues, file, "body is empty".into());
        }
        let grade = reading_grade(&card.body);
        if grade > MAX_GRADE {
            issue(
                &mut issues,
                file,
                format!(
                    "reading grade {grade:.1} is above {MAX_GRADE}; use shorter sentences and plainer words"
                ),
            );
        }
        let text = format!(
            " {} ",
            normalize_words(&format!(
                "{} {} {} {}",
                card.title,
                card.summary,
                card.aliases.join(" "),
                card.body
            ))
        );
        for (phrase, why) in FORBIDDEN {
            if text.contains(&format!(" {phrase} ")) {
                issue(&mut issues, file, format!("contains \"{phrase}\": {why}"));
            }
        }
    }
    issues
}

/// Words in Markdown text.
pub fn word_count(text: &str) -> usize {
    words(text).count()
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphabetic() && c != '\'')
        .filter(|w| w.chars().next().is_some_and(char::is_alphabetic))
}

/// Vowel-group syllable estimate: good enough for a grade level.
fn syllables(word: &str) -> usize {
    let w: String = word
        .to_lowercase()
        .chars()
        .filter(char::is_ascii_lowercase)
        .collect();
    if w.is_empty() {
        return 0;
    }
    if w.len() <= 3 {
        return 1;
    }
    let w = w
        .strip_suffix("es")
        .or_else(|| w.strip_suffix("ed"))
        .or_else(|| w.strip_suffix('e'))
        .unwrap_or(&w);
    let mut groups = 0;
    let mut in_vowel = false;
    for c in w.chars() {
        let vowel = "aeiouy".contains(c);
        if vowel && !in_vowel {
            groups += 1;
        }
        in_vowel = vowel;
    }
    groups.max(1)
}

/// Flesch-Kincaid grade level of Markdown text.
pub fn reading_grade(text: &str) -> f64 {
    let cleaned: String = text
        .chars()
        .map(|c| if "*#`>[]()_-".contains(c) { ' ' } else { c })
        .collect();
    let sentences = cleaned
        .char_indices()
        .filter(|(i, c)| {
            ".!?".contains(*c)
                && cleaned[i + c.len_utf8()..]
                    .chars()
                    .next()
                    .is_none_or(char::is_whitespace)
        })
        .count()
        .max(1);
    let words: Vec<&str> = words(&cleaned).collect();
    if words.is_empty() {
        return 0.0;
    }
    let syllables: usize = words.iter().map(|w| syllables(w)).sum();
    let n = words.len() as f64;
    0.39 * n / sentences as f64 + 11.8 * syllables as f64 / n - 15.59
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "---\nid: a\ntitle: Card A\nsection: Basics\naliases: [first card]\ntags: [x]\nrelated: [b]\nsummary: A short card.\n---\nThis is a short card. It is easy to read.\n";
    const OTHER: &str = "---\nid: b\ntitle: Card B\nsection: Basics\naliases: [second card]\ntags: [x]\nrelated: [a]\nsummary: Another card.\n---\nYou can talk to a friend. It may help.\n";

    #[test]
    fn a_clean_library_has_no_issues() {
        assert_eq!(lint_files([("en/a.md", GOOD), ("en/b.md", OTHER)]), vec![]);
    }

    #[test]
    fn each_rule_is_enforced() {
        let cases: &[(&str, &str)] = &[
            ("no front matter here", "missing front matter"),
            (&GOOD.replace("id: a", "id: zz"), "does not match the file name"),
            (&GOOD.replace("related: [b]", "related: [nope]"), "related card \"nope\" does not exist"),
            (&GOOD.replace("aliases: [first card]", "aliases: [second card]"), "also names the card"),
            (&GOOD.replace("A short card.", &"x".repeat(201)), "summary has 201 characters"),
            (&GOOD.replace("This is a short card.", &"word ".repeat(260)), "body has"),
            (&GOOD.replace("It is easy to read.", "Interpersonal psychotherapeutic interventions necessitate comprehensive multidimensional conceptualisation."), "reading grade"),
            (&GOOD.replace("It is easy to read.", "People who commit suicide."), "commit suicide"),
            (&GOOD.replace("It is easy to read.", "This will cure you."), "never promise a cure"),
            (&GOOD.replace("It is easy to read.", "It was a failed attempt."), "failed attempt"),
            (&GOOD.replace("section: Basics", "section: Misc"), "is not one of"),
        ];
        for (text, expected) in cases {
            let issues = lint_files([("en/a.md", *text), ("en/b.md", OTHER)]);
            assert!(
                issues.iter().any(|i| i.message.contains(expected)),
                "expected \"{expected}\" in {issues:?}"
            );
        }
    }

    #[test]
    fn grade_of_plain_text_is_low() {
        assert!(reading_grade("You can talk to a friend. It may help.") < 4.0);
    }
}
