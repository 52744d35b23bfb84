//! Regions: ISO 3166-1 alpha-2 country codes, which choose a group's crisis
//! resources.

/// Every officially assigned ISO 3166-1 alpha-2 code, plus the code `GB`'s
/// common alias `UK`.
const CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL \
BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK \
DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU \
GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY \
MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU \
RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO \
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW UK";

/// Normalises a region code: trims, upper-cases, maps `UK` to `GB`.
/// Returns `None` for anything that is not an ISO 3166-1 alpha-2 code.
pub fn normalize(code: &str) -> Option<String> {
    let code = code.trim().to_ascii_uppercase();
    if code.len() != 2 || !CODES.split(' ').any(|c| c == code) {
        return None;
    }
    Some(if code == "UK" { "GB".to_owned() } else { code })
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn accepts_known_codes_in_any_case() {
        assert_eq!(normalize("us").as_deref(), Some("US"));
        assert_eq!(normalize(" NZ ").as_deref(), Some("NZ"));
        assert_eq!(normalize("uk").as_deref(), Some("GB"));
    }

    #[test]
    fn rejects_unknown_codes() {
        for bad in ["XX", "USA", "", "U", "Mars"] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
