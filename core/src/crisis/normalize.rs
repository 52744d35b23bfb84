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
fn confusable(c: char) -> Option<char> {
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

/// Characters that are invisible or only decorate a letter.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}'
        | '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}'
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
        '⚰' | '🪦' => "grave",
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

/// Normalises a message into plain words separated by single spaces, with
/// sentence breaks kept as " . ".
pub fn normalize(text: &str) -> String {
    // 1. Compatibility forms, invisible marks, look-alikes, emoji.
    let mut plain = String::with_capacity(text.len() + 8);
    if text.is_ascii() {
        // ASCII is already NFKC and has no look-alikes, marks or emoji.
        plain.push_str(&text.to_ascii_lowercase());
    } else {
        for c in text.nfkc() {
            if invisible(c) {
                continue;
            }
            if let Some(word) = emoji_word(c) {
                plain.push(' ');
                plain.push_str(word);
                plain.push(' ');
                continue;
            }
            let c = confusable(c).unwrap_or(c);
            plain.extend(c.to_lowercase());
        }
    }
    // 2. Leet inside words: a chunk between spaces that has letters and
    //    stand-ins ("su1c1de", "h@rm", "t0night") but is not a number.
    let mut words: Vec<String> = Vec::new();
    for chunk in plain.split_whitespace() {
        let has_letter = chunk.chars().any(char::is_alphabetic);
        let fixed: String = if has_letter {
            let trimmed = chunk.trim_end_matches(['!', '.', ',', '?', ';', ':']);
            let tail = &chunk[trimmed.len()..];
            let mut w: String = trimmed
                .chars()
                .map(|c| {
                    if c.is_alphabetic() {
                        c
                    } else {
                        leet(c).unwrap_or(c)
                    }
                })
                .collect();
            w.push_str(tail);
            w
        } else {
            chunk.to_owned()
        };
        words.push(fixed);
    }
    // 3. Words: letters and digits; apostrophes dropped; other punctuation
    //    splits, and sentence punctuation becomes a break.
    let mut tokens: Vec<String> = Vec::new();
    for word in &words {
        let mut current = String::new();
        for c in word.chars() {
            if c.is_alphanumeric() {
                current.push(c);
            } else if c == '\'' || c == '’' {
                // don't → dont
            } else {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
                if matches!(c, '.' | '!' | '?' | ';' | ',')
                    && tokens.last().is_some_and(|t| t != ".")
                {
                    tokens.push(".".to_owned());
                }
            }
        }
        if !current.is_empty() {
            tokens.push(current);
        }
    }
    // 4. Letters spaced or dotted apart: three or more one-letter tokens in a
    //    row become one word ("k i l l" → "kill", "s.u.i.c.i.d.e").
    let mut joined: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let single = |t: &String| t.chars().count() == 1 && t.chars().all(char::is_alphabetic);
        let mut j = i;
        while j < tokens.len() && single(&tokens[j]) {
            j += 1;
        }
        // Dotted letters come through step 3 as "k . i . l . l".
        let mut k = i;
        let mut letters = String::new();
        while k < tokens.len() && single(&tokens[k]) {
            letters.push_str(&tokens[k]);
            if k + 2 < tokens.len() && tokens[k + 1] == "." && single(&tokens[k + 2]) {
                k += 2;
            } else {
                k += 1;
                break;
            }
        }
        if letters.chars().count() >= 3 && k > j {
            joined.push(letters);
            i = k;
        } else if j - i >= 3 {
            joined.push(tokens[i..j].concat());
            i = j;
        } else {
            joined.push(tokens[i].clone());
            i += 1;
        }
    }
    joined.join(" ")
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
