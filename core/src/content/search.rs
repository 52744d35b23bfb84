//! Ranking and name matching for the card library.
//!
//! Search is BM25 over five weighted fields. Query words are stemmed,
//! corrected for one-letter typos against the library's own vocabulary, and
//! expanded with everyday synonyms ("dad died" also asks for grief,
//! "new job" for role transitions), so members find cards in their own words.

use std::collections::{HashMap, HashSet};

use super::Card;

/// A ranked search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit<'a> {
    /// The card.
    pub card: &'a Card,
    /// Its BM25 score (higher is better).
    pub score: f64,
}

/// Lower case, letters and digits only, single spaces: how names compare.
pub fn normalize_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.replace('\'', ""))
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but",
    "by", "can", "could", "did", "do", "does", "doing", "for", "from", "get", "got", "had", "has",
    "have", "he", "her", "him", "his", "how", "i", "if", "im", "in", "into", "is", "it", "its",
    "ive", "just", "me", "my", "should", "try", "of", "on", "or", "our", "really", "she", "so",
    "some", "that", "the", "their", "them", "then", "there", "they", "this", "to", "too", "up",
    "us", "very", "was", "we", "were", "what", "when", "which", "who", "will", "with", "would",
    "you", "your",
];

/// A light English stemmer: enough to make "fighting", "fights" and
/// "fight" one term, without a dictionary.
fn stem(word: &str) -> String {
    let w = word;
    let n = w.len();
    if n > 4 && w.ends_with("ies") {
        return format!("{}y", &w[..n - 3]);
    }
    for suffix in ["ing", "ed"] {
        if n > suffix.len() + 3 && w.ends_with(suffix) {
            let base = &w[..n - suffix.len()];
            // "stopped" → "stop", "hoping" → "hop" is close enough for ranking.
            let b = base.as_bytes();
            if b.len() >= 2
                && b[b.len() - 1] == b[b.len() - 2]
                && !matches!(b[b.len() - 1], b'l' | b's' | b'z')
            {
                return base[..base.len() - 1].to_owned();
            }
            return base.to_owned();
        }
    }
    if n > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        return w[..n - 1].to_owned();
    }
    w.to_owned()
}

/// Words of `text` as index terms: normalised, stop words dropped, stemmed.
fn terms(text: &str) -> Vec<String> {
    normalize_words(text)
        .split(' ')
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(w))
        .map(stem)
        .collect()
}

/// Everyday words (stemmed) and the card vocabulary they point to. Facts
/// about how people talk, not card text.
const SYNONYMS: &[(&[&str], &[&str])] = &[
    (
        &[
            "die", "died", "dy", "death", "dead", "passed", "pass", "funeral", "bereaved", "widow",
            "widower", "lost", "loss", "miss", "passing", "grave", "mourn",
        ],
        &["grief", "bereavement", "mourn", "loss"],
    ),
    (
        &[
            "mum",
            "mom",
            "dad",
            "mother",
            "father",
            "parent",
            "grandma",
            "grandad",
            "grandpa",
            "grandmother",
            "grandfather",
            "brother",
            "sister",
            "son",
            "daughter",
            "pet",
            "dog",
            "cat",
        ],
        &["relationship", "people"],
    ),
    (
        &[
            "job",
            "work",
            "career",
            "promotion",
            "fired",
            "redundant",
            "laid",
            "unemployed",
            "mov",
            "move",
            "moving",
            "house",
            "baby",
            "pregnant",
            "retire",
            "retir",
            "retirement",
            "divorce",
            "divorc",
            "separat",
            "diagnosi",
            "diagnos",
            "graduat",
            "college",
            "university",
            "school",
            "new",
            "change",
            "chang",
        ],
        &["transition", "change", "role", "new"],
    ),
    (
        &[
            "fight",
            "argu",
            "argument",
            "arguing",
            "row",
            "rows",
            "conflict",
            "disagree",
            "disagreement",
            "yell",
            "shout",
            "partner",
            "spouse",
            "husband",
            "wife",
            "boyfriend",
            "girlfriend",
            "marriage",
            "married",
        ],
        &["dispute", "conflict", "role", "expectation"],
    ),
    (
        &[
            "lonely",
            "loneliness",
            "alone",
            "isolat",
            "friend",
            "friendless",
            "nobody",
            "shy",
            "awkward",
            "connect",
            "outsider",
        ],
        &["lonely", "isolation", "deficit", "connection", "friend"],
    ),
    (
        &[
            "sad",
            "down",
            "low",
            "empty",
            "numb",
            "hopeles",
            "depress",
            "blue",
            "miserable",
        ],
        &["depression", "mood"],
    ),
    (
        &[
            "therapist",
            "counsellor",
            "counselor",
            "psychologist",
            "psychiatrist",
            "shrink",
            "therapy",
            "counsell",
            "counsel",
            "treatment",
        ],
        &["therapist", "therapy", "ipt"],
    ),
    (
        &[
            "crisi",
            "emergency",
            "suicidal",
            "suicide",
            "unsafe",
            "danger",
            "harm",
            "kill",
            "die",
        ],
        &["urgent", "crisi", "help", "safety"],
    ),
    (
        &[
            "angry", "anger", "mad", "furious", "rage", "cry", "crying", "tear", "guilt", "guilty",
            "shame", "asham", "feeling", "feel", "emotion",
        ],
        &["emotion", "feeling", "feel"],
    ),
    (
        &[
            "talk",
            "conversation",
            "said",
            "say",
            "told",
            "tell",
            "speak",
            "spoke",
            "listen",
            "misunderstood",
            "text",
            "message",
        ],
        &["communication", "conversation", "talk"],
    ),
    (
        &[
            "decide", "decision", "choice", "choose", "option", "stuck", "dilemma",
        ],
        &["decision", "option", "problem"],
    ),
    (
        &[
            "no",
            "boundary",
            "boundaries",
            "pleaser",
            "pleas",
            "overcommit",
            "push",
            "pushover",
        ],
        &["boundary", "no"],
    ),
    (
        &[
            "journal", "diary", "write", "writ", "draw", "paint", "art", "music", "song",
            "creative", "poem", "poetry",
        ],
        &["expressive", "writ", "art", "music"],
    ),
    (
        &[
            "calm",
            "panic",
            "overwhelm",
            "stress",
            "stres",
            "breath",
            "breathe",
            "anxious",
            "anxiety",
            "spiral",
        ],
        &["regulation", "calm", "emotion"],
    ),
    (
        &["why", "worth", "benefit", "advantage", "point", "gain"],
        &["benefit"],
    ),
    (&["goal", "aim", "target", "plan"], &["goal"]),
    (
        &["end", "ending", "last", "finish", "goodbye", "stop"],
        &["termination", "end"],
    ),
    (
        &[
            "homework",
            "exercise",
            "practice",
            "practis",
            "task",
            "assignment",
        ],
        &["homework", "between", "practice"],
    ),
    (
        &["relapse", "again", "back", "return", "warning", "sign"],
        &["relapse", "warning", "sign"],
    ),
    (
        &["lazy", "fault", "weak", "useless", "blame"],
        &["sick", "role", "illness", "blame"],
    ),
    (
        &[
            "find",
            "looking",
            "look",
            "where",
            "insurance",
            "insurer",
            "referral",
            "cost",
            "afford",
        ],
        &["find", "therapist", "directory"],
    ),
    (&["group", "peer", "together", "others"], &["group", "peer"]),
    (
        &[
            "evidence",
            "research",
            "study",
            "studies",
            "work",
            "proof",
            "proven",
            "effective",
        ],
        &["evidence", "research", "study"],
    ),
];

/// Field weights: a word in a title or alias says more than one in the body.
const W_TITLE: f64 = 3.0;
const W_ALIAS: f64 = 3.0;
const W_TAG: f64 = 2.0;
const W_SUMMARY: f64 = 1.5;
const W_BODY: f64 = 1.0;
/// Weight of a synonym relative to a word the member typed.
const W_SYNONYM: f64 = 0.6;
const K1: f64 = 1.2;
const B: f64 = 0.75;

#[derive(Debug)]
pub(super) struct Index {
    /// Normalised id, title and aliases → card.
    names: Vec<(String, usize)>,
    /// term → (card, weighted term frequency).
    postings: HashMap<String, Vec<(usize, f64)>>,
    /// Weighted length of each card.
    lengths: Vec<f64>,
    avg_length: f64,
    /// One-deletion variants of every vocabulary term → the terms.
    deletes: HashMap<String, Vec<String>>,
    /// everyday term → vocabulary terms it expands to.
    synonyms: HashMap<String, Vec<String>>,
}

fn deletions(term: &str) -> Vec<String> {
    let chars: Vec<char> = term.chars().collect();
    (0..chars.len())
        .map(|i| {
            chars
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, c)| c)
                .collect()
        })
        .collect()
}

/// Edit distance counting a swap of two neighbouring letters as one edit
/// (optimal string alignment), for names: short strings, off the search path.
pub(super) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

impl Index {
    pub(super) fn build(cards: &[Card]) -> Self {
        let mut names = Vec::new();
        let mut postings: HashMap<String, HashMap<usize, f64>> = HashMap::new();
        let mut lengths = Vec::with_capacity(cards.len());
        for (i, card) in cards.iter().enumerate() {
            names.push((normalize_words(&card.id), i));
            names.push((normalize_words(&card.title), i));
            for alias in &card.aliases {
                names.push((normalize_words(alias), i));
            }
            let mut length = 0.0;
            let fields: [(f64, Vec<String>); 5] = [
                (W_TITLE, terms(&card.title)),
                (
                    W_ALIAS,
                    card.aliases.iter().flat_map(|a| terms(a)).collect(),
                ),
                (W_TAG, card.tags.iter().flat_map(|t| terms(t)).collect()),
                (W_SUMMARY, terms(&card.summary)),
                (W_BODY, terms(&card.body)),
            ];
            for (weight, words) in fields {
                for word in words {
                    *postings.entry(word).or_default().entry(i).or_default() += weight;
                    length += weight;
                }
            }
            lengths.push(length);
        }
        let avg_length = if lengths.is_empty() {
            1.0
        } else {
            lengths.iter().sum::<f64>() / lengths.len() as f64
        };
        let postings: HashMap<String, Vec<(usize, f64)>> = postings
            .into_iter()
            .map(|(t, docs)| (t, docs.into_iter().collect()))
            .collect();
        let mut deletes: HashMap<String, Vec<String>> = HashMap::new();
        for term in postings.keys().filter(|t| t.chars().count() >= 4) {
            for d in deletions(term) {
                deletes.entry(d).or_default().push(term.clone());
            }
        }
        let mut synonyms: HashMap<String, Vec<String>> = HashMap::new();
        for (everyday, targets) in SYNONYMS {
            for word in *everyday {
                let entry = synonyms.entry(stem(word)).or_default();
                for t in *targets {
                    let t = stem(t);
                    if !entry.contains(&t) {
                        entry.push(t);
                    }
                }
            }
        }
        Self {
            names,
            postings,
            lengths,
            avg_length,
            deletes,
            synonyms,
        }
    }

    pub(super) fn exact_name(&self, wanted: &str) -> Option<usize> {
        let hyphenless = wanted.replace(' ', "");
        self.names
            .iter()
            .find(|(name, _)| name == wanted || name.replace(' ', "") == hyphenless)
            .map(|(_, i)| *i)
    }

    /// Cards with a name within a small edit distance (one typo per five
    /// letters, at most three), closest first, without duplicates.
    pub(super) fn close_names(&self, wanted: &str) -> Vec<usize> {
        let allowed = (wanted.chars().count() / 5).clamp(1, 3);
        let mut found: Vec<(usize, usize)> = Vec::new();
        for (name, i) in &self.names {
            let d = distance(name, wanted);
            if d <= allowed {
                match found.iter_mut().find(|(_, j)| j == i) {
                    Some(entry) => entry.0 = entry.0.min(d),
                    None => found.push((d, *i)),
                }
            }
        }
        found.sort();
        let best = found.first().map(|(d, _)| *d);
        found
            .into_iter()
            .filter(|(d, _)| Some(*d) == best)
            .map(|(_, i)| i)
            .collect()
    }

    /// The vocabulary terms a query term stands for: itself if known, else
    /// its one-typo corrections.
    fn known_forms(&self, term: &str) -> Vec<String> {
        if self.postings.contains_key(term) {
            return vec![term.to_owned()];
        }
        if term.chars().count() < 4 {
            return Vec::new();
        }
        let mut out: HashSet<String> = HashSet::new();
        // A deletion from the query (an extra letter typed) …
        for d in deletions(term) {
            if self.postings.contains_key(&d) {
                out.insert(d.clone());
            }
            // … or from both sides (a wrong letter).
            if let Some(terms) = self.deletes.get(&d) {
                out.extend(terms.iter().cloned());
            }
        }
        // A missing letter typed.
        if let Some(terms) = self.deletes.get(term) {
            out.extend(terms.iter().cloned());
        }
        let mut out: Vec<String> = out.into_iter().collect();
        out.sort();
        out
    }

    pub(super) fn search(&self, query: &str, limit: usize) -> Vec<(usize, f64)> {
        let mut weighted: HashMap<String, f64> = HashMap::new();
        for term in terms(query) {
            for known in self.known_forms(&term) {
                let w = weighted.entry(known).or_insert(0.0);
                *w = w.max(1.0);
            }
            if let Some(expansions) = self.synonyms.get(&term) {
                for e in expansions {
                    if self.postings.contains_key(e) {
                        let w = weighted.entry(e.clone()).or_insert(0.0);
                        *w = w.max(W_SYNONYM);
                    }
                }
            }
        }
        let n = self.lengths.len() as f64;
        let mut scores = vec![0.0f64; self.lengths.len()];
        for (term, qweight) in &weighted {
            let Some(docs) = self.postings.get(term) else {
                continue;
            };
            let df = docs.len() as f64;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(doc, tf) in docs {
                let norm = K1 * (1.0 - B + B * self.lengths[doc] / self.avg_length);
                scores[doc] += qweight * idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        let mut ranked: Vec<(usize, f64)> = scores
            .into_iter()
            .enumerate()
            .filter(|(_, s)| *s > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(limit);
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stemming_joins_word_forms() {
        assert_eq!(stem("fighting"), "fight");
        assert_eq!(stem("fights"), "fight");
        assert_eq!(stem("stopped"), "stop");
        assert_eq!(stem("worries"), "worry");
        assert_eq!(stem("stress"), "stress");
    }

    #[test]
    fn swapped_letters_are_one_edit() {
        assert_eq!(distance("greif", "grief"), 1);
        assert_eq!(distance("grief", "grief"), 0);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn names_normalise() {
        assert_eq!(normalize_words("  Role-Disputes! "), "role disputes");
        assert_eq!(normalize_words("Mum's   death"), "mums death");
    }
}
