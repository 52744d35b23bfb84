//! Properties of `assess`: it never panics on any Unicode up to 64 KiB, and
//! a crisis message keeps its level when its case changes, zero-width
//! characters are slipped in, or letters are swapped for look-alikes.

use ipt_core::crisis::{Level, assess, normalize};
use proptest::prelude::*;

const POSITIVE: &[&str] = &[
    "I want to kill myself",
    "i am having suicidal thoughts",
    "I keep wanting to hurt myself",
    "I'm going to end my life tonight",
    "nobody would miss me if I was gone",
    "I feel like a burden to everyone",
    "i wish i was dead",
    "planning to kill myself on friday, everything is sorted",
];

/// Latin letters and a look-alike from another script.
fn homoglyph(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'e' => 'е',
        'o' => 'о',
        'p' => 'р',
        'c' => 'с',
        'y' => 'у',
        'x' => 'х',
        'i' => 'і',
        's' => 'ѕ',
        _ => return None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_any_text(text in "\\PC{0,2000}") {
        let a = assess(&text);
        prop_assert!(a.level >= Level::None);
    }

    #[test]
    fn the_ascii_fast_path_reads_like_the_general_one(text in "[ -~]{0,200}") {
        // A non-ASCII word at the end sends the whole text down the general
        // path; the words before it must come out the same.
        let general = normalize(&format!("{text} naïve"));
        let fast = normalize(&text);
        let expected = if fast.is_empty() { "naïve".to_owned() } else { format!("{fast} naïve") };
        prop_assert_eq!(general, expected, "{:?}", text);
    }

    #[test]
    fn never_panics_on_long_text(chunk in "\\PC{1,64}", times in 1usize..1024) {
        let text: String = chunk.repeat(times).chars().take(64 * 1024).collect();
        let _ = assess(&text);
    }

    #[test]
    fn case_changes_keep_the_level(i in 0..POSITIVE.len(), mask in proptest::collection::vec(any::<bool>(), 80)) {
        let base = POSITIVE[i];
        let changed: String = base
            .chars()
            .zip(mask.iter().cycle())
            .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .collect();
        prop_assert_eq!(assess(&changed).level, assess(base).level, "{}", changed);
    }

    #[test]
    fn zero_width_insertion_keeps_the_level(
        i in 0..POSITIVE.len(),
        spots in proptest::collection::vec(any::<bool>(), 80),
        which in 0usize..4,
    ) {
        let zw = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{FEFF}'][which];
        let base = POSITIVE[i];
        let mut changed = String::new();
        for (c, &add) in base.chars().zip(spots.iter().cycle()) {
            changed.push(c);
            if add {
                changed.push(zw);
            }
        }
        prop_assert_eq!(assess(&changed).level, assess(base).level, "{:?}", changed);
    }

    #[test]
    fn homoglyphs_keep_the_level(i in 0..POSITIVE.len(), swaps in proptest::collection::vec(any::<bool>(), 80)) {
        let base = POSITIVE[i];
        let changed: String = base
            .chars()
            .zip(swaps.iter().cycle())
            .map(|(c, &swap)| if swap { homoglyph(c).unwrap_or(c) } else { c })
            .collect();
        prop_assert_eq!(assess(&changed).level, assess(base).level, "{}", changed);
    }
}

#[test]
fn positive_messages_really_are_positive() {
    for text in POSITIVE {
        assert!(assess(text).level >= Level::Concern, "{text}");
    }
}
