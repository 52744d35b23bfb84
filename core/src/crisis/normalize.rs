//! Text normalisation for the crisis detector: undo the ways people (and
//! filters) disguise words, so that the detector sees plain lower-case
//! English words.
//!
//! In order: Unicode NFKC (full-width and styled letters), zero-width and
//! combining marks removed, look-alike letters from other scripts mapped to
//! Latin, emoji that carry meaning spelt out, lower case, leet inside words
//! ("su1c1de", "self h@rm"), letters spaced or dotted apart ("k i l l"),
//! apostrophes dropped ("don't" → "dont"). Repeated letters are squeezed
//! later, at matching time ("dieeee" and "die" match alike).

use unicode_normalization::UnicodeNormalization;

/// Letters from other scripts that look like Latin ones.
pub(super) fn confusable(c: char) -> Option<char> {
    Some(match c {
        // Cyrillic
        'а' | 'А' => 'a',
        'в' | 'В' => 'b',
        'е' | 'Е' | 'ё' | 'Ё' => 'e',
        'к' | 'К' => 'k',
        'м' | 'М' => 'm',
        'н' | 'Н' => 'h',
        'о' | 'О' => 'o',
        'р' | 'Р' => 'p',
        'с' | 'С' => 'c',
        'т' | 'Т' => 't',
        'у' | 'У' => 'y',
        'х' | 'Х' => 'x',
        'і' | 'І' => 'i',
        'ј' | 'Ј' => 'j',
        'ѕ' | 'Ѕ' => 's',
        'ԁ' => 'd',
        'ɡ' => 'g',
        'ӏ' => 'l',
        // Greek
        'α' | 'Α' => 'a',
        'β' | 'Β' => 'b',
        'ε' | 'Ε' => 'e',
        'η' | 'Η' => 'h',
        'ι' | 'Ι' => 'i',
        'κ' | 'Κ' => 'k',
        'μ' | 'Μ' => 'm',
        'ν' | 'Ν' => 'v',
        'ο' | 'Ο' => 'o',
        'ρ' | 'Ρ' => 'p',
        'τ' | 'Τ' => 't',
        'υ' | 'Υ' => 'u',
        'χ' | 'Χ' => 'x',
        'ζ' | 'Ζ' => 'z',
        // Latin look-alikes
        'ı' => 'i',
        'ł' => 'l',
        'ø' => 'o',
        _ => return None,
    })
}

/// Invisible characters that take no room: zero-width spaces and joiners,
/// the word joiner, the byte-order mark, soft hyphens, direction marks,
/// fillers, variation selectors and tags. (Hangul fillers U+3164 and U+FFA0
/// become U+1160 under NFKC.) They can hide inside a word ("su\u{200B}icide")
/// or stand in for the spaces between words ("I\u{200B}want\u{200B}to…"),
/// so the text is read both ways (see [`with_tokens`]).
fn invisible_gap(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}')
}

/// Combining marks, which only decorate the letter before them: always
/// dropped, never a space.
fn mark(c: char) -> bool {
    matches!(c,
        '\u{034F}' | '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Emoji used as words in crisis talk.
fn emoji_word(c: char) -> Option<&'static str> {
    Some(match c {
        // Means as emoji are their own words: "my pills tonight" is a
        // routine, a pill emoji beside "tonight" is a known crisis sign.
        '💊' => "emojipills",
        '🔪' | '🗡' => "emojiknife",
        '🔫' => "emojigun",
        '🪢' => "emojirope",
        '⚰' | '🪦' => "dead",
        '😂' | '🤣' | '😅' | '😆' => "emojilaugh",
        '💀' | '☠' => "dead",
        '🌉' => "bridge",
        '🩸' => "blood",
        '👋' => "goodbye",
        _ => return None,
    })
}

/// Digits and symbols that stand for letters inside a word.
fn leet(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' | '!' | '|' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' | '+' => 't',
        '8' => 'b',
        '9' => 'g',
        _ => return None,
    })
}

/// A normalised message: plain words (and "." for sentence breaks), each
/// also in squeezed form for matching. One buffer per form, no allocation
/// per word.
#[derive(Debug, Default)]
pub struct Words {
    /// Whether the plain forms are kept: matching needs only the squeezed
    /// ones, so the hot path skips them.
    keep_plain: bool,
    plain: String,
    plain_spans: Vec<(u32, u32)>,
    squeezed: String,
    /// Where each squeezed word is: in `squeezed`, or (marked with
    /// [`IN_TEXT`]) in the message itself, for words that needed no
    /// change; those are not copied at all.
    squeezed_spans: Vec<(u32, u32)>,
    /// The address and length of the message being read.
    text: (usize, usize),
    /// Whether reading ASCII text changed a word beyond case and
    /// punctuation: leet, letters joined, shorthand spelt out.
    disguised: bool,
    /// Whether the text had invisible characters that might stand for
    /// spaces ([`invisible_gap`]).
    gaps: bool,
}

/// A word's length and first eight bytes: comparing two of these settles
/// most word comparisons without a call to `memcmp`, which was the largest
/// cost of matching ordinary chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Key(u64, usize);

impl Key {
    pub(super) fn of(word: &str) -> Key {
        let mut head = 0u64;
        for (i, &b) in word.as_bytes().iter().take(8).enumerate() {
            head |= u64::from(b) << (8 * i);
        }
        Key(head, word.len())
    }

    /// Whether `word` (whose key is `self`) equals `other` (key `theirs`).
    pub(super) fn same(self, word: &str, theirs: Key, other: &str) -> bool {
        self == theirs && (self.1 <= 8 || word == other)
    }

    /// Whether `other` (key `theirs`) starts with `prefix` (key `self`).
    pub(super) fn starts(self, prefix: &str, theirs: Key, other: &str) -> bool {
        if self.1 > theirs.1 {
            return false;
        }
        if self.1 <= 8 {
            let mask = if self.1 == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * self.1)) - 1
            };
            theirs.0 & mask == self.0
        } else {
            other.starts_with(prefix)
        }
    }
}

/// Marks a span of the message itself rather than of `Words::squeezed`.
const IN_TEXT: u32 = 1 << 31;

impl Words {
    /// Whether ASCII text was changed beyond case and punctuation (leet,
    /// letters joined, shorthand); says nothing for other text.
    pub fn ascii_disguised(&self) -> bool {
        self.disguised
    }

    /// Whether the text had invisible characters that might stand for
    /// spaces: then it is worth reading again with them as spaces.
    pub fn had_invisible_gaps(&self) -> bool {
        self.gaps
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.squeezed_spans.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.squeezed_spans.is_empty()
    }

    /// Word `i` as normalised (only from [`words`], which keeps them).
    pub fn plain(&self, i: usize) -> &str {
        let (a, b) = self.plain_spans[i];
        &self.plain[a as usize..b as usize]
    }

    /// Empties the words, keeping the buffers, sized for `len` bytes.
    fn clear(&mut self, len: usize) {
        self.disguised = false;
        self.gaps = false;
        self.plain.clear();
        self.plain_spans.clear();
        self.squeezed.clear();
        self.squeezed_spans.clear();
        // Sized once from the input: growing these buffers was a quarter
        // of the detector's time.
        if self.keep_plain {
            self.plain.reserve(len + 8);
            self.plain_spans.reserve(len / 3 + 4);
        }
        self.squeezed.reserve(len + 8);
        self.squeezed_spans.reserve(len / 3 + 4);
    }

    /// Adds a word, spelling chat shorthand out ("wud" → "would").
    fn push(&mut self, word: &str) {
        match slang(word) {
            Some(words) => {
                self.disguised = true;
                words.iter().for_each(|w| self.push_one(w));
            }
            None => self.push_one(word),
        }
    }

    /// Where `word` starts in the message, if it is a slice of it.
    fn offset_in_text(&self, word: &str) -> Option<u32> {
        let (start, len) = self.text;
        let at = (word.as_ptr() as usize).checked_sub(start)?;
        (at + word.len() <= len && len < IN_TEXT as usize).then_some(at as u32)
    }

    /// Squeezed word `i`, from the buffer or from `text` (the message read).
    fn token<'a>(&'a self, text: &'a str, i: usize) -> &'a str {
        let (a, b) = self.squeezed_spans[i];
        if a & IN_TEXT != 0 {
            &text[(a & !IN_TEXT) as usize..(b & !IN_TEXT) as usize]
        } else {
            &self.squeezed[a as usize..b as usize]
        }
    }

    fn push_one(&mut self, word: &str) {
        if self.keep_plain {
            let a = self.plain.len() as u32;
            self.plain.push_str(word);
            self.plain_spans.push((a, self.plain.len() as u32));
        }
        let a = self.squeezed.len();
        let bytes = word.as_bytes();
        if word.is_ascii() && !bytes.windows(2).any(|w| w[0] == w[1]) {
            // Nothing to squeeze: most words. If the message already had
            // it this way, point at it there.
            if let Some(at) = self.offset_in_text(word) {
                let end = at + word.len() as u32;
                self.squeezed_spans.push((at | IN_TEXT, end | IN_TEXT));
                return;
            }
            self.squeezed.push_str(word);
        } else if word.is_ascii() {
            // Byte by byte: much cheaper than chars.
            let mut start = 0;
            for i in 1..=bytes.len() {
                if i == bytes.len() || bytes[i] != bytes[i - 1] {
                    self.squeezed.push_str(&word[start..start + 1]);
                    start = i;
                }
            }
        } else {
            let mut last = None;
            for c in word.chars() {
                if Some(c) != last {
                    self.squeezed.push(c);
                }
                last = Some(c);
            }
        }
        self.squeezed_spans
            .push((a as u32, self.squeezed.len() as u32));
    }
}

/// Chat shorthand and its plain words. Digits have already become letters
/// inside words ("every1" arrives as "everyi").
const SLANG: &[(&str, &[&str])] = &[
    ("wud", &["would"]),
    ("cud", &["could"]),
    ("shud", &["should"]),
    ("u", &["you"]),
    ("b", &["be"]),
    ("r", &["are"]),
    ("abt", &["about"]),
    ("jus", &["just"]),
    ("tmrw", &["tomorrow"]),
    ("tmr", &["tomorrow"]),
    ("tmrow", &["tomorrow"]),
    ("tomoz", &["tomorrow"]),
    ("tonite", &["tonight"]),
    ("tn", &["tonight"]),
    ("rn", &["right", "now"]),
    ("atm", &["right", "now"]),
    ("everyi", &["everyone"]),
    ("evryi", &["everyone"]),
    ("evryone", &["everyone"]),
    ("somei", &["someone"]),
    ("anyi", &["anyone"]),
    ("noi", &["noone"]),
    ("ppl", &["people"]),
    ("idc", &["i", "dont", "care"]),
    ("bc", &["because"]),
    ("cuz", &["because"]),
    ("coz", &["because"]),
    ("thx", &["thanks"]),
    ("ty", &["thank", "you"]),
];

/// Bit `len` of entry `b` is set when some shorthand of that length starts
/// with byte `b`: most words are ruled out by one lookup.
const SLANG_GATE: [u16; 128] = {
    let mut gate = [0u16; 128];
    let mut i = 0;
    while i < SLANG.len() {
        let w = SLANG[i].0.as_bytes();
        gate[w[0] as usize] |= 1 << w.len();
        i += 1;
    }
    gate
};

pub(super) fn slang(word: &str) -> Option<&'static [&'static str]> {
    let b = *word.as_bytes().first()?;
    if word.len() > 8 || b >= 128 || SLANG_GATE[usize::from(b)] & (1 << word.len()) == 0 {
        return None;
    }
    SLANG.iter().find(|(w, _)| *w == word).map(|(_, out)| *out)
}

/// Normalises a message into plain words separated by single spaces, with
/// sentence breaks kept as " . ".
pub fn normalize(text: &str) -> String {
    let words = words(text);
    (0..words.len())
        .map(|i| words.plain(i))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Normalises a message into [`Words`] in one pass over the text.
pub fn words(text: &str) -> Words {
    let mut chunker = Chunker::default();
    chunker.out.keep_plain = true;
    chunker.run(text);
    chunker.out
}

/// Buffers bigger than this (bytes of text) are not kept between calls.
const KEEP_BUFFERS_UP_TO: usize = 64 * 1024;

/// This thread's buffers, kept between calls: allocating them afresh was
/// a fifth of the time for a short message.
type Scratch = (Chunker, Vec<&'static str>, Vec<Key>);

thread_local! {
    static SCRATCH: std::cell::RefCell<Option<Scratch>> = const { std::cell::RefCell::new(None) };
}

/// Normalises `text` and hands `f` the words, the squeezed words (the
/// tokens matching uses) and their keys, reusing this thread's buffers.
/// Invisible characters ([`invisible_gap`]) are dropped, joining what they
/// split, or with `gaps_as_spaces` read as spaces.
pub fn with_tokens<R>(
    text: &str,
    gaps_as_spaces: bool,
    f: impl FnOnce(&Words, &[&str], &[Key]) -> R,
) -> R {
    let (mut chunker, spare, mut keys) =
        SCRATCH.with(|s| s.borrow_mut().take()).unwrap_or_default();
    chunker.out.keep_plain = true;
    chunker.gaps_as_spaces = gaps_as_spaces;
    chunker.run(text);
    let mut tokens: Vec<&str> = spare;
    let out = &chunker.out;
    tokens.extend((0..out.len()).map(|i| out.token(text, i)));
    keys.clear();
    keys.extend(tokens.iter().map(|t| Key::of(t)));
    let result = f(out, &tokens, &keys);
    let spare = recycle(tokens);
    // A rare huge message does not pin its buffers to the thread.
    if chunker.out.squeezed.capacity() <= KEEP_BUFFERS_UP_TO {
        SCRATCH.with(|s| *s.borrow_mut() = Some((chunker, spare, keys)));
    }
    result
}

/// An emptied vector of borrowed words, kept for its allocation. (Collecting
/// an emptied `Vec` in place keeps its buffer.)
fn recycle(mut tokens: Vec<&str>) -> Vec<&'static str> {
    tokens.clear();
    tokens.into_iter().map(|_| "").collect()
}

impl Chunker {
    /// Reads `text` into `self.out`, replacing what was there.
    fn run(&mut self, text: &str) {
        self.out.clear(text.len());
        self.out.text = (text.as_ptr() as usize, text.len());
        self.chunk.clear();
        self.pending.clear();
        self.pending_dot = false;
        self.feed(text);
    }

    fn feed(&mut self, text: &str) {
        let chunker = self;
        if text.is_ascii() {
            // ASCII is already NFKC and has no look-alikes, marks or emoji, so
            // whole chunks are handled as bytes.
            chunker.ascii_text(text);
        } else {
            for c in text.nfkc() {
                if invisible_gap(c) {
                    chunker.out.gaps = true;
                    if chunker.gaps_as_spaces {
                        chunker.end_chunk();
                    }
                    continue;
                }
                if mark(c) {
                    continue;
                }
                if let Some(word) = emoji_word(c) {
                    chunker.char(' ');
                    word.chars().for_each(|c| chunker.char(c));
                    chunker.char(' ');
                    continue;
                }
                for c in confusable(c).unwrap_or(c).to_lowercase() {
                    chunker.char(c);
                }
            }
        }
        chunker.end_chunk();
        chunker.flush_pending();
    }
}

/// Collects whitespace-separated chunks, fixes leet inside them, splits
/// them into words, and joins letters spelt out one at a time.
#[derive(Debug, Default)]
struct Chunker {
    out: Words,
    /// The chunk being read.
    chunk: Vec<char>,
    /// Single letters (and '.' for a dot between them) waiting to see
    /// whether they spell a word.
    pending: Vec<char>,
    /// Whether `pending` has a '.': kept beside it because searching it
    /// after every chunk made a long run of spelt-out letters ("k i l l
    /// k i l l …") take time in the square of its length.
    pending_dot: bool,
    /// The word being built, reused between words.
    word_buf: String,
    /// Whether invisible characters ([`invisible_gap`]) end a chunk, as a
    /// space would, rather than being dropped.
    gaps_as_spaces: bool,
}

impl Chunker {
    fn char(&mut self, c: char) {
        if c.is_whitespace() {
            self.end_chunk();
        } else {
            self.chunk.push(c);
        }
    }

    /// ASCII text, read as bytes in one pass: the hot path. Each
    /// whitespace-separated chunk is sized up as it is read; most are a
    /// plain word, maybe with an apostrophe and trailing punctuation, and
    /// take the short way. Others go through `split_chunk` (leet, splits).
    fn ascii_text(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_whitespace() {
                i += 1;
                continue;
            }
            let start = i;
            // `other`: where the first byte that is not a letter or an
            // apostrophe is; `body_end`: after the last byte that is not
            // trailing punctuation. The chunk is a plain word if nothing
            // but trailing punctuation follows `other`.
            let (mut lower, mut doubled, mut prev) = (true, false, 0u8);
            let mut other = usize::MAX;
            let mut body_end = start;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                let b = bytes[i];
                if matches!(b, b'!' | b'.' | b',' | b'?' | b';' | b':') {
                    other = other.min(i);
                } else {
                    body_end = i + 1;
                    if !b.is_ascii_lowercase() {
                        lower = false;
                        if !b.is_ascii_uppercase() && b != b'\'' {
                            other = other.min(i);
                        }
                    }
                }
                doubled |= b == prev;
                prev = b;
                i += 1;
            }
            let chunk = &text[start..i];
            if body_end == start || other < body_end {
                self.split_chunk(chunk.bytes().map(|b| char::from(b.to_ascii_lowercase())));
                continue;
            }
            let body = &text[start..body_end];
            if lower {
                self.lower_word(body, doubled);
            } else {
                let mut word = std::mem::take(&mut self.word_buf);
                word.clear();
                word.push_str(body);
                word.make_ascii_lowercase();
                word.retain(|c| c != '\'');
                if !word.is_empty() {
                    self.word(&word);
                }
                self.word_buf = word;
            }
            for b in text[body_end..i].bytes() {
                if b != b':' {
                    self.word(".");
                }
            }
            if self.pending_dot {
                self.flush_pending();
            }
        }
    }

    /// [`Chunker::word`] for a lower-case ASCII word that is a slice of the
    /// message: the commonest word there is, so it skips every check that
    /// cannot apply and, when nothing needs squeezing, is not copied.
    fn lower_word(&mut self, word: &str, doubled: bool) {
        if word.len() == 1 || slang(word).is_some() {
            self.word(word);
            return;
        }
        if !self.pending.is_empty() {
            self.flush_pending();
        }
        match self.out.offset_in_text(word) {
            Some(at) if !doubled => {
                if self.out.keep_plain {
                    let a = self.out.plain.len() as u32;
                    self.out.plain.push_str(word);
                    self.out.plain_spans.push((a, self.out.plain.len() as u32));
                }
                let end = at + word.len() as u32;
                self.out.squeezed_spans.push((at | IN_TEXT, end | IN_TEXT));
            }
            _ => self.out.push_one(word),
        }
    }

    fn end_chunk(&mut self) {
        if self.chunk.is_empty() {
            return;
        }
        let chunk = std::mem::take(&mut self.chunk);
        self.split_chunk(chunk.iter().copied());
        self.chunk = chunk;
        self.chunk.clear();
    }

    /// Splits one whitespace-free chunk into words. Leet applies only
    /// inside a chunk that has letters ("t0night", "h@rm"), never in
    /// numbers ("10 kms"); trailing punctuation stays punctuation.
    fn split_chunk<I>(&mut self, chars: I)
    where
        I: Iterator<Item = char> + DoubleEndedIterator + ExactSizeIterator + Clone,
    {
        // "w/o" is "without".
        let mut head = chars.clone();
        if head.next() == Some('w')
            && head.next() == Some('/')
            && head.next() == Some('o')
            && head.all(|c| !c.is_alphanumeric())
        {
            self.out.disguised = true;
            self.word("without");
            return;
        }
        let alphabetic = |c: char| c.is_ascii_alphabetic() || (!c.is_ascii() && c.is_alphabetic());
        let has_letter = chars.clone().any(alphabetic);
        let body_end = chars
            .clone()
            .rposition(|c| !matches!(c, '!' | '.' | ',' | '?' | ';' | ':'))
            .map_or(0, |i| i + 1);
        let mut word = std::mem::take(&mut self.word_buf);
        word.clear();
        for (i, c) in chars.enumerate() {
            let c = if has_letter && i < body_end && !alphabetic(c) {
                match leet(c) {
                    Some(letter) => {
                        self.out.disguised = true;
                        letter
                    }
                    None => c,
                }
            } else {
                c
            };
            if c.is_ascii_alphanumeric() || (!c.is_ascii() && c.is_alphanumeric()) {
                word.push(c);
            } else if c == '\'' || c == '’' {
                // don't → dont
            } else {
                if !word.is_empty() {
                    self.word(&word);
                    word.clear();
                }
                if matches!(c, '.' | '!' | '?' | ';' | ',') {
                    self.word(".");
                }
            }
        }
        if !word.is_empty() {
            self.word(&word);
        }
        self.word_buf = word;
        // A dotted run ("k.i.l.l") never spans a space.
        if self.pending_dot {
            self.flush_pending();
        }
    }

    /// Words arrive here; single letters wait in `pending` in case they
    /// spell a word ("k i l l", "s.u.i.c.i.d.e").
    fn word(&mut self, word: &str) {
        let mut chars = word.chars();
        if let (Some(c), None) = (chars.next(), chars.next())
            && c.is_alphabetic()
        {
            self.pending.push(c);
            return;
        }
        // A dot between single letters ("k.i.l.l") keeps the run going.
        if word == "." && self.pending.last().is_some_and(|&c| c != '.') {
            self.pending.push('.');
            self.pending_dot = true;
            return;
        }
        if !self.pending.is_empty() {
            self.flush_pending();
        }
        if word == "." {
            self.push_break();
        } else {
            self.out.push(word);
        }
    }

    fn flush_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.pending_dot = false;
        if let [c] = self.pending[..]
            && c.is_ascii_lowercase()
        {
            // One letter alone ("i", "a"): the common case.
            const LETTERS: &str = "abcdefghijklmnopqrstuvwxyz";
            let at = usize::from(c as u8 - b'a');
            self.pending.clear();
            self.out.push(&LETTERS[at..=at]);
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let trailing_break = pending.last() == Some(&'.');
        let core = if trailing_break {
            &pending[..pending.len() - 1]
        } else {
            &pending[..]
        };
        let letters = core.iter().filter(|&&c| c != '.').count();
        // "k.i.l.l": letters and dots alternating; "k i l l": no dots.
        let dotted = core.iter().skip(1).step_by(2).all(|&c| c == '.')
            && core.iter().step_by(2).all(|&c| c != '.');
        let spaced = !core.contains(&'.');
        if letters >= 3 && (dotted || spaced) {
            let joined: String = core.iter().filter(|&&c| c != '.').collect();
            self.out.disguised = true;
            // A whole phrase spelt out ("n o o n e c a r e s") reads as
            // its words; a run that is one word, or no words, stays joined.
            match split_run(&joined) {
                Some(words) => words.iter().for_each(|w| self.out.push(w)),
                None => self.out.push(&joined),
            }
            if trailing_break {
                self.push_break();
            }
        } else {
            let mut buf = [0u8; 4];
            for &c in &pending {
                if c == '.' {
                    self.push_break();
                } else {
                    self.out.push(c.encode_utf8(&mut buf));
                }
            }
        }
        self.pending = pending;
        self.pending.clear();
    }

    fn push_break(&mut self) {
        let last_is_break = self.out.squeezed_spans.last().is_some_and(|&(a, b)| {
            a & IN_TEXT == 0 && &self.out.squeezed[a as usize..b as usize] == "."
        });
        if !last_is_break && !self.out.is_empty() {
            self.out.push(".");
        }
    }
}

/// Words a spelt-out run of letters may be split into, each with its
/// cost: the encoder vocabulary's whole words, most common first, then the
/// corpus's other words (`scripts/make-word-list`). A word's cost grows
/// with the log of its rank (Zipf's law), so "all i want" costs less than
/// "ally want".
static WORDS: std::sync::LazyLock<std::collections::HashMap<&'static str, f32>> =
    std::sync::LazyLock::new(|| {
        let list = include_str!("../../data/crisis-words.txt");
        let scale = (list.lines().count() as f32).ln();
        let mut words: std::collections::HashMap<&'static str, f32> = list
            .lines()
            .enumerate()
            .map(|(rank, w)| (w, ((rank + 1) as f32 * scale).ln()))
            .collect();
        // The one-letter words, as common as the commonest.
        for w in ["a", "i"] {
            words.insert(w, scale.ln());
        }
        words
    });

/// The longest word tried when splitting a run.
const LONGEST_WORD: usize = 20;

/// Splits a run of lower-case letters into the likeliest words of
/// [`WORDS`] ("alliwantistodie" → all i want is to die). `None` when the
/// run is a word already, is not plain lower-case letters, is very long,
/// or cannot be split wholly into words.
fn split_run(run: &str) -> Option<Vec<&str>> {
    let words = &*WORDS;
    if run.len() > 200 || !run.bytes().all(|b| b.is_ascii_lowercase()) || words.contains_key(run) {
        return None;
    }
    let n = run.len();
    // best[end]: the cheapest words that make run[..end], and where the
    // last of them starts.
    let mut best: Vec<Option<(f32, usize)>> = vec![None; n + 1];
    best[0] = Some((0.0, 0));
    for end in 1..=n {
        for start in end.saturating_sub(LONGEST_WORD)..end {
            if let Some((cost, _)) = best[start]
                && let Some(&word) = words.get(&run[start..end])
                && best[end].is_none_or(|(c, _)| cost + word < c)
            {
                best[end] = Some((cost + word, start));
            }
        }
    }
    best[n]?;
    let mut out = Vec::new();
    let mut end = n;
    while end > 0 {
        let (_, start) = best[end]?;
        out.push(&run[start..end]);
        end = start;
    }
    out.reverse();
    Some(out)
}

/// Collapses every run of a repeated letter to one ("killlll" → "kil",
/// "sleep" → "slep"): matching compares squeezed words on both sides, so
/// stretched spellings match their plain form.
pub fn squeeze(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut last = None;
    for c in word.chars() {
        if Some(c) != last {
            out.push(c);
        }
        last = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_spelt_out_read_as_their_words() {
        assert_eq!(
            normalize("t o n i g h t i s t h e n i g h t . g o o d b y e"),
            "tonight is the night . goodbye"
        );
        assert_eq!(normalize("i.w.a.n.t.t.o.d.i.e"), "i want to die");
        assert_eq!(normalize("N O P O I N T"), "no point");
        // The likeliest words, not the fewest ("ally want is to die").
        assert_eq!(
            normalize("a l l i w a n t i s t o d i e"),
            "all i want is to die"
        );
        assert_eq!(
            normalize("n o o n e w o u l d m i s s m e"),
            "no one would miss me"
        );
        // One word stays one word; what cannot be split stays joined.
        assert_eq!(normalize("k i l l"), "kill");
        assert_eq!(normalize("x q z v"), "xqzv");
        assert_eq!(split_run("ab1"), None);
    }

    #[test]
    fn disguises_are_undone() {
        assert_eq!(
            normalize("I want to k i l l myself"),
            "i want to kill myself"
        );
        assert_eq!(normalize("su1c1dal again"), "suicidal again");
        assert_eq!(normalize("self h@rm"), "self harm");
        assert_eq!(
            normalize("g00dbye all, ending it t0night"),
            "goodbye all . ending it tonight"
        );
        assert_eq!(normalize("s.u.i.c.i.d.e"), "suicide");
        assert_eq!(normalize("ki\u{200B}ll mys\u{200D}elf"), "kill myself");
        assert_eq!(normalize("kіll myѕelf"), "kill myself"); // Cyrillic і and ѕ
        assert_eq!(normalize("ＫＩＬＬ"), "kill");
        assert_eq!(normalize("I don't want to live"), "i dont want to live");
        assert_eq!(normalize("tonight 💊"), "tonight emojipills");
        assert_eq!(
            normalize("evry1 wud b better off w/o me rn"),
            "everyone would be better off without me right now"
        );
    }

    #[test]
    fn numbers_stay_numbers() {
        assert_eq!(normalize("the run was 10 kms"), "the run was 10 kms");
        assert_eq!(
            normalize("rating my mood 4 out of 10"),
            "rating my mood 4 out of 10"
        );
    }

    #[test]
    fn squeeze_collapses_runs() {
        assert_eq!(squeeze("dieeee"), "die");
        assert_eq!(squeeze("kill"), "kil");
    }
}
