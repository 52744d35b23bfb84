//! Identifiers: database ids as newtypes, platform-neutral references to
//! groups and members, and the `text_enum!` helper that stores small enums
//! as readable text on every backend.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A group (a Discord guild, a Matrix room, the console demo group).
    GroupId
);
id_type!(
    /// A member, per platform account.
    MemberId
);
id_type!(
    /// A crisis alert.
    AlertId
);
id_type!(
    /// One entry in an alert's audit trail.
    AlertEventId
);
id_type!(
    /// A row in the outbox.
    DeliveryId
);
id_type!(
    /// One day's check-in answer.
    CheckinId
);
id_type!(
    /// A between-session exercise.
    HomeworkId
);

/// Defines a fieldless enum stored as lowercase text, with `as_str`,
/// `FromStr`, `Display`, serde and sqlx support for every backend.
///
/// We store text rather than Postgres enum types so that one SQL text serves
/// SQLite and Postgres alike, and so rows stay readable in a SQL shell.
#[macro_export]
macro_rules! text_enum {
    ($(#[$doc:meta])* $vis:vis enum $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored text of this variant.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ids::UnknownVariant;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::ids::UnknownVariant {
                        kind: stringify!($name),
                        text: s.to_owned(),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }

        impl<DB: ::sqlx::Database> ::sqlx::Type<DB> for $name
        where
            String: ::sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as ::sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as ::sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: ::sqlx::Database> ::sqlx::Encode<'q, DB> for $name
        where
            &'static str: ::sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as ::sqlx::Database>::ArgumentBuffer,
            ) -> ::std::result::Result<::sqlx::encode::IsNull, ::sqlx::error::BoxDynError> {
                <&'static str as ::sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        impl<'r, DB: ::sqlx::Database> ::sqlx::Decode<'r, DB> for $name
        where
            String: ::sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as ::sqlx::Database>::ValueRef<'r>,
            ) -> ::std::result::Result<Self, ::sqlx::error::BoxDynError> {
                let text = <String as ::sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(text.parse()?)
            }
        }
    };
}

/// A stored or typed text did not name any variant of an enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} \"{text}\"")]
pub struct UnknownVariant {
    /// The enum's name.
    pub kind: &'static str,
    /// The text that did not match.
    pub text: String,
}

text_enum! {
    /// The chat platforms ipt-bot serves.
    pub enum Platform {
        /// The local terminal platform: a demo group for trying every flow.
        Console = "console",
        /// Matrix, via matrix-sdk.
        Matrix = "matrix",
        /// Discord, via serenity and poise.
        Discord = "discord",
    }
}

/// A platform-neutral reference to a group: a Discord guild id, a Matrix room
/// id, or the console's demo group name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupRef {
    /// Which platform the group lives on.
    pub platform: Platform,
    /// The platform's own id for it.
    pub id: String,
}

/// A platform-neutral reference to a member: a Discord user id, a Matrix user
/// id, or the console user's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberRef {
    /// Which platform the account lives on.
    pub platform: Platform,
    /// The platform's own id for it.
    pub id: String,
}

impl GroupRef {
    /// A reference to `id` on `platform`.
    pub fn new(platform: Platform, id: impl Into<String>) -> Self {
        Self {
            platform,
            id: id.into(),
        }
    }
}

impl MemberRef {
    /// A reference to `id` on `platform`.
    pub fn new(platform: Platform, id: impl Into<String>) -> Self {
        Self {
            platform,
            id: id.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_text_round_trips() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), *p);
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(serde_json::from_str::<Platform>(&json).unwrap(), *p);
        }
    }

    #[test]
    fn unknown_platform_is_named_in_the_error() {
        let err = "irc".parse::<Platform>().unwrap_err();
        assert_eq!(err.to_string(), "unknown Platform \"irc\"");
    }
}
