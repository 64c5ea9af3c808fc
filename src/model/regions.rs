//! Availability zones per region, so that AZ mistakes are caught before any
//! AWS call. Regions missing from the table are assumed to have zones a–c.

const TABLE: &[(&str, &str)] = &[
    ("us-east-1", "abcdef"),
    ("us-east-2", "abc"),
    ("us-west-1", "ab"),
    ("us-west-2", "abcd"),
    ("ca-central-1", "abd"),
    ("sa-east-1", "abc"),
    ("eu-west-1", "abc"),
    ("eu-west-2", "abc"),
    ("eu-west-3", "abc"),
    ("eu-central-1", "abc"),
    ("eu-central-2", "abc"),
    ("eu-north-1", "abc"),
    ("eu-south-1", "abc"),
    ("ap-south-1", "abc"),
    ("ap-southeast-1", "abc"),
    ("ap-southeast-2", "abc"),
    ("ap-northeast-1", "acd"),
    ("ap-northeast-2", "abcd"),
    ("ap-northeast-3", "abc"),
    ("ap-east-1", "abc"),
    ("me-south-1", "abc"),
    ("af-south-1", "abc"),
];

/// The availability zones of a region, in order (`us-east-1a`, ...).
pub fn zones(region: &str) -> Vec<String> {
    let letters = TABLE
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(_, z)| *z)
        .unwrap_or("abc");
    letters.chars().map(|c| format!("{region}{c}")).collect()
}

/// Every region this version knows.
pub fn all() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(r, _)| *r)
}

pub fn is_known(region: &str) -> bool {
    TABLE.iter().any(|(r, _)| *r == region)
}

#[cfg(test)]
mod tests {
    #[test]
    fn zones_of_known_and_unknown_regions() {
        assert_eq!(super::zones("us-west-2").len(), 4);
        assert_eq!(super::zones("ap-northeast-1")[1], "ap-northeast-1c");
        assert_eq!(
            super::zones("xx-new-1"),
            ["xx-new-1a", "xx-new-1b", "xx-new-1c"]
        );
    }
}
