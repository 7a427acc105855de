//! The enumerated fields of device messages as the platform holds them once
//! validated: Rust enums, never strings or bare protobuf numbers. The
//! validator is the only place a protobuf number becomes one of these (an
//! unknown or unset number is refused there), and [`code`](TapAction::code)
//! is the only place one becomes the text stored in the database
//! ([`from_code`](TapAction::from_code) reads it back).
use kagoshima_proto::v1;

/// Declares a domain enum mirroring a protobuf enum, with its database code.
macro_rules! field_enum {
    ($(#[$doc:meta])* $name:ident from $proto:ident { $($variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Every value, in the contract's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text stored in the database.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// The value stored as `code` in the database; `None` for other text.
            pub fn from_code(code: &str) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The value of a protobuf number; `None` for an unknown number
            /// and, unless the enum names it, for an unset one (0).
            #[allow(unreachable_patterns)]
            pub fn from_proto(value: i32) -> Option<$name> {
                match v1::$proto::try_from(value).ok()? {
                    $(v1::$proto::$variant => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The protobuf number.
            pub fn to_proto(self) -> i32 {
                match self {
                    $($name::$variant => v1::$proto::$variant as i32),+
                }
            }
        }
    };
}

field_enum! {
    /// Boarding (tap on) or alighting (tap off).
    TapAction from TapAction { On => "on", Off => "off" }
}

field_enum! {
    /// A physical card or a phone's wallet.
    Medium from Medium { Card => "card", Mobile => "mobile" }
}

field_enum! {
    /// The fare category the validator charged.
    RiderCategory from RiderCategory { Adult => "adult", Child => "child" }
}

field_enum! {
    /// What the payment terminal decided.
    TapResult from TapResult {
        Approved => "approved",
        Declined => "declined",
        DenyListed => "deny_listed",
        OfflineApproved => "offline_approved",
    }
}

field_enum! {
    /// What kind of unit sent a status report (a heartbeat may leave it unset).
    DeviceKind from DeviceKind {
        Unspecified => "unspecified",
        Onboard => "onboard",
        Signage => "signage",
    }
}

/// The enumerated fields of a validated tap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapFields {
    pub action: TapAction,
    pub medium: Medium,
    pub rider_category: RiderCategory,
    pub result: TapResult,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_protobuf_number() {
        for a in TapAction::ALL {
            assert_eq!(TapAction::from_proto(a.to_proto()), Some(*a));
        }
        for r in TapResult::ALL {
            assert_eq!(TapResult::from_proto(r.to_proto()), Some(*r));
        }
        for k in DeviceKind::ALL {
            assert_eq!(DeviceKind::from_proto(k.to_proto()), Some(*k));
        }
    }

    #[test]
    fn unset_and_unknown_numbers_are_none_not_a_default() {
        assert_eq!(TapAction::from_proto(0), None);
        assert_eq!(TapAction::from_proto(99), None);
        assert_eq!(Medium::from_proto(0), None);
        assert_eq!(DeviceKind::from_proto(0), Some(DeviceKind::Unspecified));
        assert_eq!(DeviceKind::from_proto(7), None);
    }

    #[test]
    fn codes_are_the_database_texts() {
        assert_eq!(TapAction::Off.code(), "off");
        assert_eq!(TapResult::DenyListed.code(), "deny_listed");
        assert_eq!(RiderCategory::Child.code(), "child");
    }

    #[test]
    fn every_value_round_trips_through_its_database_text() {
        for a in TapAction::ALL {
            assert_eq!(TapAction::from_code(a.code()), Some(*a));
        }
        for r in TapResult::ALL {
            assert_eq!(TapResult::from_code(r.code()), Some(*r));
        }
        assert_eq!(TapAction::from_code("On"), None);
        assert_eq!(TapAction::from_code(""), None);
    }
}
