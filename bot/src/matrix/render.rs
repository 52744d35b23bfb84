//! Turning the engine's plain text into Matrix message content: an escaped
//! HTML body beside the plain one, long text split at sensible places, and
//! no `@room` ping that came from anyone's text.
//!
//! Pure functions, so every rule here is unit-tested without a homeserver.

/// Longest body we send in one event. Matrix allows 65,536 bytes for a whole
/// event; clients show shorter messages better, and encryption adds a third.
pub const MAX_CHUNK: usize = 4000;

/// Zero-width space: breaks a ping keyword without changing how it reads.
const ZWSP: char = '\u{200B}';

/// Escapes text for Matrix's HTML subset.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Breaks `@room` (any case) so no client treats it as a room-wide ping.
/// The text reads the same.
pub fn defang(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if !lower.contains("@room") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    let mut rest_lower = lower.as_str();
    while let Some(at) = rest_lower.find("@room") {
        out.push_str(&rest[..=at]);
        out.push(ZWSP);
        rest = &rest[at + 1..];
        rest_lower = &rest_lower[at + 1..];
    }
    out.push_str(rest);
    out
}

/// Plain text as HTML: escaped, line breaks kept.
pub fn plain_to_html(text: &str) -> String {
    escape_html(text).replace('\n', "<br>")
}

/// Splits `text` into pieces of at most `max` bytes, preferring paragraph
/// breaks, then line breaks, then spaces; a single word longer than `max`
/// is cut at a character boundary. Pieces are trimmed of the break.
pub fn split(text: &str, max: usize) -> Vec<String> {
    let max = max.max(16);
    let mut out = Vec::new();
    let mut rest = text.trim_end();
    while rest.len() > max {
        let window = &rest[..floor_char_boundary(rest, max)];
        let cut = window
            .rfind("\n\n")
            .filter(|&i| i > max / 4)
            .or_else(|| window.rfind('\n').filter(|&i| i > max / 4))
            .or_else(|| window.rfind(' ').filter(|&i| i > max / 4));
        let (head, tail) = match cut {
            Some(i) => (&rest[..i], &rest[i..]),
            None => rest.split_at(window.len()),
        };
        out.push(head.trim_end().to_owned());
        rest = tail.trim_start_matches(['\n', ' ']);
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The `m.room.message` content of one bot notice: plain body and escaped
/// HTML body, both with `@room` defanged, and an explicit empty mention
/// list (so clients that follow intentional mentions ping nobody).
///
/// `pill` names a member to show as a mention pill in the HTML (a link to
/// their profile) without notifying them: the first occurrence of
/// `pill.1` in the text becomes the pill for user id `pill.0`.
pub fn notice(text: &str, pill: Option<(&str, &str)>) -> serde_json::Value {
    let body = defang(text);
    let mut html = plain_to_html(&body);
    if let Some((user_id, name)) = pill {
        let shown = escape_html(&defang(name));
        if !shown.is_empty()
            && let Some(at) = html.find(&shown)
        {
            let link = format!(
                "<a href=\"https://matrix.to/#/{}\">{shown}</a>",
                escape_html(user_id)
            );
            html.replace_range(at..at + shown.len(), &link);
        }
    }
    serde_json::json!({
        "msgtype": "m.notice",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": html,
        "m.mentions": {},
    })
}

/// Removes the quoted fallback a Matrix reply starts with (`> <@a:b> …`
/// lines and the blank line after them), so the bot assesses and parses
/// what the member wrote, not what they quoted.
pub fn strip_reply_fallback(body: &str) -> &str {
    if !body.starts_with("> ") {
        return body;
    }
    let mut rest = body;
    while rest.starts_with('>') {
        match rest.find('\n') {
            Some(i) => rest = &rest[i + 1..],
            None => return "",
        }
    }
    rest.trim_start_matches('\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup_and_keeps_line_breaks() {
        assert_eq!(
            plain_to_html("<b>hi</b> & \"you\"\nbye"),
            "&lt;b&gt;hi&lt;/b&gt; &amp; &quot;you&quot;<br>bye"
        );
    }

    #[test]
    fn room_pings_from_text_are_defanged_in_any_case() {
        let out = defang("hey @room and @ROOM, @roommates");
        assert!(!out.to_ascii_lowercase().contains("@room"), "{out:?}");
        assert_eq!(out.replace(ZWSP, ""), "hey @room and @ROOM, @roommates");
        assert_eq!(defang("no pings"), "no pings");
    }

    #[test]
    fn notice_has_plain_and_escaped_bodies_and_mentions_nobody() {
        let n = notice("<script> @room", None);
        assert_eq!(n["msgtype"], "m.notice");
        assert_eq!(n["format"], "org.matrix.custom.html");
        assert!(
            n["formatted_body"]
                .as_str()
                .unwrap()
                .starts_with("&lt;script&gt;")
        );
        assert!(!n["body"].as_str().unwrap().contains("@room"));
        assert_eq!(n["m.mentions"], serde_json::json!({}));
    }

    #[test]
    fn notice_shows_the_member_as_a_pill_without_pinging() {
        let n = notice(
            "Crisis alert #3: a message from Al <x> in !g:hs.",
            Some(("@al:hs", "Al <x>")),
        );
        let html = n["formatted_body"].as_str().unwrap();
        assert!(
            html.contains("<a href=\"https://matrix.to/#/@al:hs\">Al &lt;x&gt;</a>"),
            "{html}"
        );
        assert_eq!(n["m.mentions"], serde_json::json!({}));
    }

    #[test]
    fn long_text_splits_at_paragraphs_and_never_loses_text() {
        let para = "word ".repeat(150);
        let text = format!("{para}\n\n{para}\n\n{para}");
        let parts = split(&text, 1000);
        assert!(parts.len() >= 3, "{}", parts.len());
        assert!(parts.iter().all(|p| p.len() <= 1000));
        let joined: String = parts.concat().split_whitespace().collect();
        let want: String = text.split_whitespace().collect();
        assert_eq!(joined, want);
    }

    #[test]
    fn a_word_longer_than_the_limit_is_cut_on_a_char_boundary() {
        let text = "é".repeat(100);
        let parts = split(&text, 31);
        assert!(parts.iter().all(|p| p.len() <= 31));
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn short_text_is_one_piece() {
        assert_eq!(split("hello", MAX_CHUNK), vec!["hello".to_owned()]);
    }

    #[test]
    fn reply_fallback_is_removed() {
        assert_eq!(
            strip_reply_fallback("> <@a:b> i want to die\n> more\n\nthat's awful"),
            "that's awful"
        );
        assert_eq!(strip_reply_fallback("plain > text"), "plain > text");
    }
}
