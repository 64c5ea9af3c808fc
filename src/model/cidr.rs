//! IPv4 CIDR blocks: parsing, containment, overlap and subdivision.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    pub addr: u32,
    pub prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("`{0}` is not an IPv4 CIDR block (expected a.b.c.d/n)")]
    Syntax(String),
    #[error("`{text}` has host bits set")]
    HostBits { text: String, network: Cidr },
}

impl CidrError {
    pub fn hint(&self) -> String {
        match self {
            CidrError::Syntax(_) => "write a block such as \"10.0.0.0/16\"".into(),
            CidrError::HostBits { network, .. } => format!("did you mean \"{network}\"?"),
        }
    }
}

impl Cidr {
    pub fn new(addr: u32, prefix: u8) -> Cidr {
        Cidr {
            addr: addr & Self::mask_of(prefix),
            prefix,
        }
    }

    fn mask_of(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix))
        }
    }

    pub fn mask(&self) -> u32 {
        Self::mask_of(self.prefix)
    }

    pub fn first(&self) -> u32 {
        self.addr
    }

    pub fn last(&self) -> u32 {
        self.addr | !self.mask()
    }

    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    pub fn contains(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && (other.addr & self.mask()) == self.addr
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// All blocks of `prefix` inside this one, in address order.
    pub fn subdivide(&self, prefix: u8) -> Result<Vec<Cidr>, String> {
        if prefix < self.prefix || prefix > 32 {
            return Err(format!(
                "cannot cut {self} into /{prefix} blocks: the prefix must be between {} and 32",
                self.prefix
            ));
        }
        let count = 1u64 << (prefix - self.prefix);
        if count > 65_536 {
            return Err(format!(
                "cutting {self} into /{prefix} makes {count} blocks"
            ));
        }
        let step = 1u64 << (32 - u32::from(prefix));
        Ok((0..count)
            .map(|i| Cidr::new((u64::from(self.addr) + i * step) as u32, prefix))
            .collect())
    }

    /// `n` equal blocks, as large as possible, from the start of this one.
    pub fn split(&self, n: u32) -> Result<Vec<Cidr>, String> {
        if n == 0 {
            return Err("cannot split a block into 0 parts".into());
        }
        let extra = 32 - (n - 1).leading_zeros();
        let extra = if n == 1 { 0 } else { extra };
        let prefix = u32::from(self.prefix) + extra;
        if prefix > 32 {
            return Err(format!("{self} is too small to split into {n} blocks"));
        }
        Ok(self
            .subdivide(prefix as u8)?
            .into_iter()
            .take(n as usize)
            .collect())
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.addr.to_be_bytes();
        write!(f, "{a}.{b}.{c}.{d}/{}", self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, CidrError> {
        let syntax = || CidrError::Syntax(s.to_string());
        let (ip, prefix) = s.split_once('/').ok_or_else(syntax)?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32 && !prefix.starts_with('+'))
            .ok_or_else(syntax)?;
        let octets: Vec<&str> = ip.split('.').collect();
        if octets.len() != 4 {
            return Err(syntax());
        }
        let mut addr = 0u32;
        for o in octets {
            if o.is_empty() || o.len() > 3 || !o.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            let v: u32 = o.parse().map_err(|_| syntax())?;
            if v > 255 {
                return Err(syntax());
            }
            addr = (addr << 8) | v;
        }
        let network = Cidr::new(addr, prefix);
        if network.addr != addr {
            return Err(CidrError::HostBits {
                text: s.to_string(),
                network,
            });
        }
        Ok(network)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints() {
        assert_eq!(c("10.0.0.0/16").to_string(), "10.0.0.0/16");
        assert_eq!(c("0.0.0.0/0").size(), 1 << 32);
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in [
            "10.0.0/16",
            "10.0.0.0",
            "10.0.0.256/24",
            "10.0.0.0/33",
            "a.b.c.d/8",
            "10.0.0.0/+8",
            "",
        ] {
            assert!(
                matches!(bad.parse::<Cidr>(), Err(CidrError::Syntax(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn host_bits_suggest_the_network() {
        let err = "10.0.1.5/24".parse::<Cidr>().unwrap_err();
        assert_eq!(err.hint(), "did you mean \"10.0.1.0/24\"?");
    }

    #[test]
    fn containment_and_overlap() {
        assert!(c("10.0.0.0/16").contains(&c("10.0.10.0/24")));
        assert!(!c("10.0.0.0/16").contains(&c("10.1.0.0/24")));
        assert!(!c("10.0.10.0/24").contains(&c("10.0.0.0/16")));
        assert!(c("10.0.0.0/23").overlaps(&c("10.0.1.0/24")));
        assert!(!c("10.0.0.0/24").overlaps(&c("10.0.1.0/24")));
    }

    #[test]
    fn split_makes_equal_blocks() {
        let parts = c("10.0.8.0/21").split(3).unwrap();
        assert_eq!(
            parts.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            ["10.0.8.0/23", "10.0.10.0/23", "10.0.12.0/23"]
        );
        assert_eq!(c("10.0.0.0/24").split(1).unwrap(), vec![c("10.0.0.0/24")]);
        assert!(c("10.0.0.0/31").split(4).is_err());
        assert_eq!(c("10.0.0.0/16").subdivide(18).unwrap().len(), 4);
    }
}
