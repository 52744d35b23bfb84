//! Member text on its way in: control characters stripped before anything
//! is stored or echoed, and cuts to a stored length that the member is told
//! about.
//!
//! Terminal escape sequences in a time zone, a homework title or an unknown
//! command name would otherwise be echoed to the console (retitling the
//! window, writing to the clipboard, clearing the screen) and stored for
//! every later export. Line breaks and tabs stay: notes may have several
//! lines.

use std::borrow::Cow;

/// Whether `c` is removed from member text: C0 controls other than line
/// feed and tab (so ESC, BEL, carriage return), DEL, and C1 controls.
fn is_stripped(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{9B}'
}

/// `text` without control characters. Borrowed when there were none, which
/// is every ordinary message: the hot path allocates nothing.
pub fn strip_controls(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_stripped) {
        Cow::Owned(text.chars().filter(|c| !is_stripped(*c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// [`strip_controls`] for a single-line field (a name, a command): line
/// breaks and tabs become spaces too.
pub fn one_line(text: &str) -> String {
    strip_controls(text)
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .collect()
}

/// The first `max` characters of `text`, and whether anything was cut.
pub fn clip(text: &str, max: usize) -> (String, bool) {
    match text.char_indices().nth(max) {
        Some((at, _)) => (text[..at].to_owned(), true),
        None => (text.to_owned(), false),
    }
}

/// What a member is told when their text was cut to `max` characters.
pub fn kept_note(max: usize) -> String {
    format!("(That was longer than I keep, so I saved the first {max} characters.)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_lose_their_control_characters() {
        let hostile = "Europe/London\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{9b}31m";
        let clean = strip_controls(hostile);
        assert!(!clean.chars().any(char::is_control), "{clean:?}");
        assert!(clean.starts_with("Europe/London"));
    }

    #[test]
    fn ordinary_text_is_borrowed_and_keeps_line_breaks() {
        let text = "line one\nline two\twith a tab, ünïcödé and emoji 🌱";
        assert!(matches!(strip_controls(text), Cow::Borrowed(_)));
        assert_eq!(one_line(text), "line one line two with a tab, ünïcödé and emoji 🌱");
    }

    #[test]
    fn clip_counts_characters_and_says_when_it_cut() {
        assert_eq!(clip("ünï", 3), ("ünï".to_owned(), false));
        assert_eq!(clip("ünïcode", 3), ("ünï".to_owned(), true));
        assert!(kept_note(200).contains("first 200 characters"));
    }
}
