//! The psychoeducation library: short IPT cards written in our own words,
//! loaded from `core/content/<lang>/*.md` and embedded in the binary.
//!
//! A card file starts with front matter between `---` lines:
//!
//! ```text
//! ---
//! id: grief
//! title: Grief and loss
//! section: Problem areas
//! aliases: [bereavement, my mum died]
//! tags: [grief, loss]
//! related: [grief-work, role-transitions]
//! summary: One sentence of at most 200 characters.
//! ---
//! The body, in plain Markdown.
//! ```
//!
//! [`Library`] answers `learn` (by id, title or alias, forgiving typos),
//! `search` (BM25 ranking with everyday synonyms) and Discord autocomplete.
//! [`lint`] checks the whole library and runs in CI.

mod lint;
mod search;

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

pub use self::lint::{LintIssue, lint};
use self::search::Index;
pub use self::search::{Hit, normalize_words};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/cards.rs"));
}

/// Where a card sits in `learn`'s topic list, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    /// Depression, IPT, evidence, groups.
    Basics,
    /// Initial, middle and termination phases.
    Phases,
    /// Grief, role disputes, role transitions, interpersonal deficits.
    ProblemAreas,
    /// The ideas IPT works by.
    Principles,
    /// What you can do, in sessions and between them.
    Techniques,
    /// What IPT can bring.
    Benefits,
    /// Therapists, peer support and urgent help.
    GettingHelp,
}

impl Section {
    /// Every section, in display order.
    pub const ALL: [Section; 7] = [
        Section::Basics,
        Section::Phases,
        Section::ProblemAreas,
        Section::Principles,
        Section::Techniques,
        Section::Benefits,
        Section::GettingHelp,
    ];

    /// The name used in front matter and shown to members.
    pub fn name(self) -> &'static str {
        match self {
            Section::Basics => "Basics",
            Section::Phases => "Phases",
            Section::ProblemAreas => "Problem areas",
            Section::Principles => "Principles",
            Section::Techniques => "Techniques",
            Section::Benefits => "Benefits",
            Section::GettingHelp => "Getting help",
        }
    }

    fn parse(text: &str) -> Option<Section> {
        Section::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(text.trim()))
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One psychoeducation card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// Stable id, equal to the file name without `.md`.
    pub id: String,
    /// Language folder it came from (`en`).
    pub lang: String,
    /// Display title.
    pub title: String,
    /// Where it is listed.
    pub section: Section,
    /// Other names people type for it.
    pub aliases: Vec<String>,
    /// Single-word topics.
    pub tags: Vec<String>,
    /// Ids of related cards.
    pub related: Vec<String>,
    /// One sentence, at most 200 characters.
    pub summary: String,
    /// The card text, Markdown.
    pub body: String,
}

/// A card file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ParseError {
    /// The file, relative to `content/`.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

/// Parses one card file. `file` is its path relative to `content/`
/// (`en/grief.md`), which also gives the language and the expected id.
pub fn parse_card(file: &str, text: &str) -> Result<Card, ParseError> {
    let err = |message: String| ParseError {
        file: file.to_owned(),
        message,
    };
    let text = text.replace("\r\n", "\n");
    let rest = text.strip_prefix("---\n").ok_or_else(|| {
        err("missing front matter: the file must start with a line \"---\"".into())
    })?;
    let (front, body) = rest
        .split_once("\n---\n")
        .or_else(|| rest.strip_suffix("\n---").map(|f| (f, "")))
        .ok_or_else(|| err("front matter is not closed by a line \"---\"".into()))?;
    let mut fields: HashMap<&str, &str> = HashMap::new();
    for (n, line) in front.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| err(format!("front matter line {} is not \"key: value\"", n + 2)))?;
        if fields.insert(key.trim(), value.trim()).is_some() {
            return Err(err(format!(
                "front matter key \"{}\" appears twice",
                key.trim()
            )));
        }
    }
    let known = [
        "id", "title", "section", "aliases", "tags", "related", "summary",
    ];
    if let Some(unknown) = fields.keys().find(|k| !known.contains(k)) {
        return Err(err(format!("unknown front matter key \"{unknown}\"")));
    }
    let required = |key: &str| -> Result<String, ParseError> {
        match fields.get(key) {
            Some(v) if !v.is_empty() => Ok((*v).to_owned()),
            _ => Err(err(format!("front matter lacks \"{key}\""))),
        }
    };
    let list = |key: &str| -> Result<Vec<String>, ParseError> {
        let Some(v) = fields.get(key) else {
            return Ok(Vec::new());
        };
        let inner = v
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .ok_or_else(|| err(format!("\"{key}\" must be a list like [a, b]")))?;
        Ok(inner
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect())
    };
    let section_text = required("section")?;
    let section = Section::parse(&section_text).ok_or_else(|| {
        let names: Vec<_> = Section::ALL.iter().map(|s| s.name()).collect();
        err(format!(
            "section \"{section_text}\" is not one of: {}",
            names.join(", ")
        ))
    })?;
    let (lang, name) = file.rsplit_once('/').unwrap_or(("en", file));
    Ok(Card {
        id: required("id")?,
        lang: lang.rsplit('/').next().unwrap_or(lang).to_owned(),
        title: required("title")?,
        section,
        aliases: list("aliases")?,
        tags: list("tags")?,
        related: list("related")?,
        summary: required("summary")?,
        body: body.trim().to_owned(),
    })
    .and_then(|card: Card| {
        let expected = name.strip_suffix(".md").unwrap_or(name);
        if card.id == expected {
            Ok(card)
        } else {
            Err(err(format!(
                "id \"{}\" does not match the file name \"{name}\"",
                card.id
            )))
        }
    })
}

/// How far the best search hit must lead the second for `learn <topic>`
/// to open it directly instead of offering choices.
const CLEAR_LEAD: f64 = 1.25;

/// The cards of one language, indexed for lookups.
#[derive(Debug)]
pub struct Library {
    cards: Vec<Card>,
    index: Index,
}

/// What `learn <topic>` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// One card matched (exactly, or as the only close spelling).
    Found(&'a Card),
    /// Nothing matched exactly; these came close.
    Suggestions(Vec<&'a Card>),
    /// Nothing came close.
    NotFound,
}

impl Library {
    /// Builds a library from parsed cards.
    pub fn new(cards: Vec<Card>) -> Self {
        let index = Index::build(&cards);
        Self { cards, index }
    }

    /// The English library embedded at build time. Cards that fail to parse
    /// are left out here (and make `ipt-bot content lint` fail in CI).
    pub fn embedded() -> &'static Library {
        static LIBRARY: OnceLock<Library> = OnceLock::new();
        LIBRARY.get_or_init(|| {
            let cards = embedded_files()
                .filter(|(file, _)| file.starts_with("en/"))
                .filter_map(|(file, text)| match parse_card(file, text) {
                    Ok(card) => Some(card),
                    Err(error) => {
                        tracing::error!(%error, "card left out");
                        None
                    }
                })
                .collect();
            Library::new(cards)
        })
    }

    /// Every card, in file order.
    pub fn cards(&self) -> &[Card] {
        &self.cards
    }

    /// A card by exact id.
    pub fn get(&self, id: &str) -> Option<&Card> {
        self.cards.iter().find(|c| c.id == id)
    }

    /// Cards grouped by section, in display order, each sorted by id (what
    /// `learn` shows and members type).
    pub fn by_section(&self) -> Vec<(Section, Vec<&Card>)> {
        Section::ALL
            .into_iter()
            .map(|s| {
                let mut cards: Vec<&Card> = self.cards.iter().filter(|c| c.section == s).collect();
                cards.sort_by(|a, b| a.id.cmp(&b.id));
                (s, cards)
            })
            .filter(|(_, cards)| !cards.is_empty())
            .collect()
    }

    /// Resolves a topic typed by a member: an id, title or alias, with
    /// small typos forgiven; failing that, the best search hits.
    pub fn lookup(&self, topic: &str) -> Lookup<'_> {
        let wanted = normalize_words(topic);
        if wanted.is_empty() {
            return Lookup::NotFound;
        }
        if let Some(i) = self.index.exact_name(&wanted) {
            return Lookup::Found(&self.cards[i]);
        }
        let close = self.index.close_names(&wanted);
        if close.len() == 1 {
            return Lookup::Found(&self.cards[close[0]]);
        }
        // A topic word rather than a name ("evidence", "crisis management"):
        // take the best search hit when it clearly leads.
        let hits = self.search(topic, 3);
        if close.is_empty()
            && let [first, rest @ ..] = hits.as_slice()
            && rest
                .first()
                .is_none_or(|second| first.score >= CLEAR_LEAD * second.score)
        {
            return Lookup::Found(first.card);
        }
        let mut suggestions: Vec<&Card> = close.iter().map(|&i| &self.cards[i]).collect();
        for hit in hits {
            if !suggestions.iter().any(|c| c.id == hit.card.id) {
                suggestions.push(hit.card);
            }
        }
        suggestions.truncate(3);
        if suggestions.is_empty() {
            Lookup::NotFound
        } else {
            Lookup::Suggestions(suggestions)
        }
    }

    /// Ranks cards for everyday words (BM25 over title, aliases, tags,
    /// summary and body, with synonyms and typo tolerance). Best first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit<'_>> {
        self.index
            .search(query, limit)
            .into_iter()
            .map(|(i, score)| Hit {
                card: &self.cards[i],
                score,
            })
            .collect()
    }

    /// Choices for Discord autocomplete: at most 25 `(title, id)` pairs
    /// whose id, title or alias starts with, or contains, what was typed.
    pub fn autocomplete(&self, typed: &str) -> Vec<(&str, &str)> {
        let typed = normalize_words(typed);
        let mut starts = Vec::new();
        let mut contains = Vec::new();
        for card in &self.cards {
            let names = std::iter::once(&card.id)
                .chain(std::iter::once(&card.title))
                .chain(&card.aliases);
            let mut best = None;
            for name in names {
                let name = normalize_words(name);
                if name.starts_with(&typed) {
                    best = Some(0);
                    break;
                }
                if name.contains(&typed) {
                    best = Some(1);
                }
            }
            match best {
                Some(0) => starts.push(card),
                Some(_) => contains.push(card),
                None => {}
            }
        }
        starts.sort_by(|a, b| a.title.cmp(&b.title));
        contains.sort_by(|a, b| a.title.cmp(&b.title));
        if starts.is_empty() && contains.is_empty() && !typed.is_empty() {
            // Nothing contains what was typed: a typo, or everyday words.
            let mut cards: Vec<&Card> = self
                .index
                .close_names(&typed)
                .into_iter()
                .map(|i| &self.cards[i])
                .collect();
            for hit in self.search(&typed, 25) {
                if !cards.iter().any(|c| c.id == hit.card.id) {
                    cards.push(hit.card);
                }
            }
            return cards
                .into_iter()
                .take(25)
                .map(|c| (c.title.as_str(), c.id.as_str()))
                .collect();
        }
        starts
            .into_iter()
            .chain(contains)
            .take(25)
            .map(|c| (c.title.as_str(), c.id.as_str()))
            .collect()
    }

    /// The card for a group's daily prompt: a stable choice from `seed`
    /// (e.g. group id and date) among cards not shown in `recent` (the ids
    /// shown in the last 30 days). If every card is recent, the least
    /// recently shown one is used.
    pub fn daily_card(&self, seed: u64, recent: &[String]) -> Option<&Card> {
        let fresh: Vec<&Card> = self
            .cards
            .iter()
            .filter(|c| !recent.contains(&c.id))
            .collect();
        if fresh.is_empty() {
            return recent
                .first()
                .and_then(|id| self.get(id))
                .or_else(|| self.cards.first());
        }
        // splitmix64: a well-spread, dependency-free hash of the seed.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Some(fresh[(z % fresh.len() as u64) as usize])
    }
}

/// The card for a group's daily prompt on `day`: the one already chosen
/// for that day if any (by this or another process), else a fresh pick
/// that no prompt of the group carried in the 30 days before, recorded so
/// it is not repeated.
pub async fn daily_card_for<'a>(
    library: &'a Library,
    store: &dyn crate::store::Store,
    group: crate::ids::GroupId,
    day: chrono::NaiveDate,
) -> crate::Result<Option<&'a Card>> {
    let since = day - chrono::Duration::days(29);
    let history = store.daily_cards_since(group, since).await?;
    if let Some((_, id)) = history.iter().find(|(d, _)| *d == day) {
        return Ok(library.get(id));
    }
    let recent: Vec<String> = history.into_iter().map(|(_, id)| id).collect();
    let seed =
        (group.0 as u64).wrapping_mul(1_000_003) ^ chrono::Datelike::num_days_from_ce(&day) as u64;
    let Some(pick) = library.daily_card(seed, &recent) else {
        return Ok(None);
    };
    let stored = store.set_daily_card(group, day, &pick.id).await?;
    Ok(library.get(&stored).or(Some(pick)))
}

/// Every embedded card file: `(path relative to content/, text)`.
pub fn embedded_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    embedded::CARD_FILES.iter().copied()
}

/// Renders a card as a chat message: title, body, related topics, with
/// commands in the platform's own prefix.
pub fn render(card: &Card, library: &Library, prefix: &str) -> String {
    // Cards write commands as `/name`; show them as this platform types them.
    let body = card.body.replace("`/", &format!("`{prefix}"));
    let mut out = format!("{}\n\n{}\n", card.title, body);
    let related: Vec<String> = card
        .related
        .iter()
        .filter_map(|id| library.get(id))
        .map(|c| format!("{prefix}learn {} ({})", c.id, c.title))
        .collect();
    if !related.is_empty() {
        out.push_str(&format!("\nRelated: {}\n", related.join(", ")));
    }
    out
}
