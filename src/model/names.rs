//! Name rules per kind (what AWS accepts), instance-type syntax, and
//! "did you mean" suggestions.

use super::{Kind, Problem};

/// A kind's own rule beyond length and characters.
pub type NameCheck = fn(&str) -> Result<(), Problem>;

/// What AWS accepts as the name of a kind's resources.
#[derive(Clone, Copy, Debug)]
pub struct NameRule {
    pub min: usize,
    pub max: usize,
    pub allowed: fn(char) -> bool,
    pub described: &'static str,
    /// Rules beyond length and characters (a bucket name's shape).
    pub extra: Option<NameCheck>,
}

pub fn alnum_dash_underscore(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn tag_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

impl NameRule {
    /// Names that live only in a Name tag: letters, digits, `-`, `_`, `.`.
    pub const TAG: NameRule = NameRule {
        min: 1,
        max: 64,
        allowed: tag_name_char,
        described: "letters, digits, `-`, `_` and `.`",
        extra: None,
    };

    pub const fn chars(
        min: usize,
        max: usize,
        allowed: fn(char) -> bool,
        described: &'static str,
    ) -> NameRule {
        NameRule {
            min,
            max,
            allowed,
            described,
            extra: None,
        }
    }

    pub const fn with(mut self, extra: fn(&str) -> Result<(), Problem>) -> NameRule {
        self.extra = Some(extra);
        self
    }
}

/// Checks a resource name against what AWS accepts for its kind.
pub fn check_name(kind: Kind, name: &str) -> Result<(), Problem> {
    check_with(&kind.schema().names, kind, name)
}

fn check_with(r: &NameRule, kind: Kind, name: &str) -> Result<(), Problem> {
    let len = name.chars().count();
    if len < r.min || len > r.max {
        return Err(Problem::new(format!(
            "{kind} name `{name}` is {len} characters long; AWS allows {} to {}",
            r.min, r.max
        ))
        .hint(format!("use a name of {} to {} characters", r.min, r.max)));
    }
    if let Some(bad) = name.chars().find(|c| !(r.allowed)(*c)) {
        return Err(Problem::new(format!(
            "{kind} name `{name}` contains `{bad}`, which AWS does not allow here"
        ))
        .hint(format!("{kind} names may hold {}", r.described)));
    }
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok {
        return Err(Problem::new(format!(
            "{kind} name `{name}` must start with a letter or a digit"
        )));
    }
    match r.extra {
        Some(extra) => extra(name),
        None => Ok(()),
    }
}

/// A blueprint's name marks everything it owns (tag `blueprint:name`, IAM
/// path `/blueprint/<name>/`): letters, digits, `-` and `_`, 1 to 64.
pub fn check_blueprint_name(name: &str) -> Result<(), Problem> {
    let ok = !name.is_empty() && name.len() <= 64 && name.chars().all(alnum_dash_underscore);
    if ok {
        Ok(())
    } else {
        Err(Problem::new(format!("`{name}` is not a valid blueprint name"))
            .hint("blueprint names hold 1 to 64 letters, digits, `-` and `_`; set one with blueprint_name(\"...\")"))
    }
}

/// EC2 instance type syntax: `family.size`, e.g. `m6i.large`, `c7g.16xlarge`,
/// `u-6tb1.metal`, `m7i.metal-24xl`.
pub fn check_instance_type(t: &str) -> Result<(), Problem> {
    let bad = || {
        Problem::new(format!("`{t}` is not an EC2 instance type"))
            .hint("instance types look like \"m6i.large\" or \"c7g.4xlarge\"")
    };
    let (family, size) = t.split_once('.').ok_or_else(bad)?;
    let family_ok = family.len() >= 2
        && family.starts_with(|c: char| c.is_ascii_lowercase())
        && family.chars().any(|c| c.is_ascii_digit())
        && family
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let size_ok = match size {
        "nano" | "micro" | "small" | "medium" | "large" | "xlarge" | "metal" => true,
        s if s.ends_with("xlarge") => {
            let n = &s[..s.len() - "xlarge".len()];
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        }
        s if s.starts_with("metal-") && s.ends_with("xl") => {
            let n = &s["metal-".len()..s.len() - 2];
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    };
    if family_ok && size_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// The closest candidate within a small edit distance, for "did you mean".
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1) + 1;
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_types() {
        for ok in [
            "m6i.large",
            "t3.medium",
            "r6i.xlarge",
            "c7g.16xlarge",
            "u-6tb1.metal",
            "m7i.metal-24xl",
            "mac1.metal",
        ] {
            assert!(check_instance_type(ok).is_ok(), "{ok}");
        }
        for bad in [
            "m6i",
            "large",
            "m6i.huge",
            "M6I.large",
            "m.large",
            "m6i.xxlarge",
            "m6i.4xl",
        ] {
            assert!(check_instance_type(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("desird", ["min", "max", "desired"]),
            Some("desired")
        );
        assert_eq!(suggest("zzzzzz", ["min", "max", "desired"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
