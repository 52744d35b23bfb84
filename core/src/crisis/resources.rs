//! Crisis resources by region, from `core/data/crisis-lines.toml`
//! (embedded): what `resources` shows and what crisis replies carry.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// One helpline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// Its name.
    pub name: String,
    /// Number to call.
    #[serde(default)]
    pub call: Option<String>,
    /// How to text it.
    #[serde(default)]
    pub text: Option<String>,
    /// Web chat address.
    #[serde(default)]
    pub chat: Option<String>,
    /// Web address (directories).
    #[serde(default)]
    pub web: Option<String>,
    /// Opening hours, where known.
    #[serde(default)]
    pub hours: Option<String>,
    /// When the entry was last checked (YYYY-MM-DD). Required in the data
    /// file (a test checks it); a group's own lines from config may omit it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_checked: String,
}

/// The lines of one region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// ISO 3166-1 alpha-2 code.
    pub code: String,
    /// Its name as used in a sentence ("the United Kingdom").
    pub name: String,
    /// Emergency number.
    pub emergency: String,
    /// Helplines.
    pub lines: Vec<Line>,
}

/// What everyone else sees.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    /// How to say "the emergency number" without knowing it.
    pub emergency: String,
    /// Helpline directories.
    pub directories: Vec<Line>,
}

/// The whole data file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Regions with known lines.
    pub region: Vec<Region>,
    /// Everywhere else.
    pub fallback: Fallback,
}

impl Resources {
    /// The embedded data file. It is checked by a test, so a broken file
    /// fails CI rather than a member in crisis.
    pub fn embedded() -> &'static Resources {
        static RESOURCES: OnceLock<Resources> = OnceLock::new();
        RESOURCES.get_or_init(|| {
            toml::from_str(include_str!("../../data/crisis-lines.toml"))
                .expect("core/data/crisis-lines.toml is valid (checked by tests)")
        })
    }

    /// The region for a code, if we have lines for it.
    pub fn region(&self, code: &str) -> Option<&Region> {
        self.region
            .iter()
            .find(|r| r.code.eq_ignore_ascii_case(code.trim()))
    }

    /// The message listing what to do and whom to reach, for a region code
    /// (or none known) and the group's own lines. Plain text; warm, direct,
    /// no promise of secrecy.
    pub fn message(&self, region: Option<&str>, local: &[Line]) -> String {
        format!(
            "If you might act on thoughts of suicide or self-harm, or you are in danger now, \
             please call {} now.\n\n{}",
            self.emergency(region),
            self.lines(region, local)
        )
    }

    /// The emergency number for a region, or a phrase for it.
    pub fn emergency(&self, region: Option<&str>) -> &str {
        region
            .and_then(|c| self.region(c))
            .map_or(&self.fallback.emergency, |r| &r.emergency)
    }

    /// The helplines for a region (or the directories), then the lines the
    /// group's moderators added in config, ending with a line that reaching
    /// out is a good step.
    pub fn lines(&self, region: Option<&str>, local: &[Line]) -> String {
        let mut out = String::new();
        let directories: Vec<&str> = self
            .fallback
            .directories
            .iter()
            .filter_map(|d| d.web.as_deref())
            .collect();
        match region.and_then(|code| self.region(code)) {
            Some(r) => {
                out.push_str(&format!(
                    "You can talk to someone any time in {}:\n",
                    r.name
                ));
                for line in &r.lines {
                    out.push_str(&format!("- {}\n", describe(line)));
                }
                out.push_str(&format!(
                    "\nIn another country? {} list crisis lines everywhere.\n",
                    directories.join(" and ")
                ));
            }
            None => {
                out.push_str("To find a free, confidential crisis line where you are:\n");
                for line in &self.fallback.directories {
                    out.push_str(&format!("- {}\n", describe(line)));
                }
            }
        }
        if !local.is_empty() {
            out.push_str("\nYour group's moderators also suggest:\n");
            for line in local {
                out.push_str(&format!("- {}\n", describe(line)));
            }
        }
        out.push_str(
            "\nReaching out is a good step, and people do get through times like this. You can \
             also tell a moderator or someone you trust.",
        );
        out
    }
}

fn describe(line: &Line) -> String {
    let mut ways = Vec::new();
    if let Some(call) = &line.call {
        ways.push(format!("call {call}"));
    }
    if let Some(text) = &line.text {
        ways.push(format!("text {text}"));
    }
    if let Some(chat) = &line.chat {
        ways.push(format!("chat at {chat}"));
    }
    if let Some(web) = &line.web {
        ways.push(web.clone());
    }
    let mut out = line.name.clone();
    if !ways.is_empty() {
        out.push_str(": ");
        out.push_str(&ways.join(", "));
    }
    if let Some(hours) = &line.hours {
        out.push_str(&format!(" ({hours})"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_file_parses_and_covers_the_promised_regions() {
        let r = Resources::embedded();
        for code in [
            "US", "CA", "GB", "IE", "AU", "NZ", "IN", "DE", "FR", "ES", "NL", "BR", "ZA",
        ] {
            let region = r
                .region(code)
                .unwrap_or_else(|| panic!("no lines for {code}"));
            assert!(
                !region.lines.is_empty() && !region.emergency.is_empty(),
                "{code}"
            );
            for line in &region.lines {
                assert!(
                    chrono::NaiveDate::parse_from_str(&line.last_checked, "%Y-%m-%d").is_ok(),
                    "{code}: {}",
                    line.name
                );
                assert!(
                    line.call.is_some() || line.text.is_some() || line.chat.is_some(),
                    "{code}: {} has no way to reach it",
                    line.name
                );
            }
        }
        assert!(!r.fallback.directories.is_empty());
    }

    #[test]
    fn message_names_the_emergency_number_and_lines() {
        let r = Resources::embedded();
        let us = r.message(Some("us"), &[]);
        assert!(us.contains("call 911 now"), "{us}");
        assert!(
            us.contains("988 Suicide & Crisis Lifeline: call 988, text 988 (24/7)"),
            "{us}"
        );
        let gb = r.message(Some("GB"), &[]);
        assert!(
            gb.contains("call 999 now") && gb.contains("Samaritans: call 116 123"),
            "{gb}"
        );
        let elsewhere = r.message(Some("JP"), &[]);
        assert!(
            elsewhere.contains("your local emergency number")
                && elsewhere.contains("findahelpline.com"),
            "{elsewhere}"
        );
        assert_eq!(r.message(None, &[]), elsewhere);
        let local = Line {
            name: "Our peer warmline".into(),
            call: Some("0800 000 000".into()),
            text: None,
            chat: None,
            web: None,
            hours: Some("evenings".into()),
            last_checked: String::new(),
        };
        let with_local = r.message(Some("GB"), std::slice::from_ref(&local));
        assert!(
            with_local.starts_with(&gb[..gb.find("\nReaching out").expect("closing line")])
                && with_local.contains(
                    "Your group's moderators also suggest:\n- Our peer warmline: call 0800 000 000 (evenings)"
                ),
            "{with_local}"
        );
        for m in [us, gb, elsewhere] {
            assert!(
                !m.to_lowercase().contains("secret"),
                "no promise of secrecy"
            );
        }
    }
}
