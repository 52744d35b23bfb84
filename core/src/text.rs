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

/// `text` without control characters, and without whole terminal escape
/// sequences (CSI `ESC [ ... final`, OSC `ESC ] ... BEL` or `ESC \\`), so no
/// residue such as `[2J` is left behind. Borrowed when there were none,
/// which is every ordinary message: the hot path allocates nothing.
pub fn strip_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_stripped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let csi = match c {
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    true
                }
                Some(']' | 'P' | '_' | '^' | 'X') => {
                    // A string sequence runs to BEL or ESC \. One that never
                    // ends (within a line and 256 characters) is not one:
                    // its text is kept, so nothing a member wrote (a crisis
                    // sentence) can vanish behind a stray ESC ].
                    chars.next();
                    let mut body = String::new();
                    let mut ended = false;
                    while let Some(&c) = chars.peek() {
                        if c == '\n' || body.len() > 256 {
                            break;
                        }
                        chars.next();
                        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            ended = true;
                            break;
                        }
                        body.push(c);
                    }
                    if !ended {
                        out.extend(body.chars().filter(|c| !is_stripped(*c)));
                    }
                    continue;
                }
                Some(_) => {
                    // ESC, any intermediates (0x20-0x2F), one final byte.
                    while chars
                        .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                        .is_some()
                    {}
                    chars.next_if(|c| ('\u{30}'..='\u{7e}').contains(c));
                    continue;
                }
                None => continue,
            },
            '\u{9b}' => true,
            // A lone control character becomes a space: CR, VT, FF and NEL
            // separate words, and must not fuse them.
            c if is_stripped(c) => {
                out.push(' ');
                continue;
            }
            c => {
                out.push(c);
                continue;
            }
        };
        if csi {
            // Parameters (0x30-0x3F), intermediates (0x20-0x2F), then one
            // final byte (0x40-0x7E); anything else ends it unconsumed.
            while let Some(&c) = chars.peek() {
                if ('\u{20}'..='\u{3f}').contains(&c) {
                    chars.next();
                } else {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        chars.next();
                    }
                    break;
                }
            }
        }
    }
    Cow::Owned(out)
}

/// `text` with every control character (other than line feed and tab) as
/// a space and nothing else removed: what the crisis detector reads beside
/// the cleaned text, so no word a member wrote can hide inside what looked
/// like an escape sequence. Borrowed when there were none.
pub fn spaced(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_stripped) {
        Cow::Owned(
            text.chars()
                .map(|c| if is_stripped(c) { ' ' } else { c })
                .collect(),
        )
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
        assert_eq!(clean.trim(), "Europe/London", "no residue of the sequences");
        assert_eq!(strip_controls("I\rwant\u{b}to\u{85}die"), "I want to die");
        assert_eq!(spaced("to \u{1b}kill\u{1b}]0;x\u{7}"), "to  kill ]0;x ");
        assert_eq!(strip_controls("a\u{1b}]52;c;aGk=\u{1b}\\b\u{1b}(Bc"), "abc");
    }

    #[test]
    fn an_unended_sequence_never_hides_what_follows() {
        let text = "\u{1b}]0;i want to die\nand more";
        let clean = strip_controls(text);
        assert!(clean.contains("i want to die"), "{clean:?}");
        assert!(clean.contains("and more"), "{clean:?}");
    }

    #[test]
    fn ordinary_text_is_borrowed_and_keeps_line_breaks() {
        let text = "line one\nline two\twith a tab, ünïcödé and emoji 🌱";
        assert!(matches!(strip_controls(text), Cow::Borrowed(_)));
        assert_eq!(
            one_line(text),
            "line one line two with a tab, ünïcödé and emoji 🌱"
        );
    }

    #[test]
    fn clip_counts_characters_and_says_when_it_cut() {
        assert_eq!(clip("ünï", 3), ("ünï".to_owned(), false));
        assert_eq!(clip("ünïcode", 3), ("ünï".to_owned(), true));
        assert!(kept_note(200).contains("first 200 characters"));
    }
}
