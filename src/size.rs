//! Sizes on the command line: `65536`, `64KiB`, `64MiB`, `2GiB`, `500MB`.

use anyhow::{bail, Result};

/// Parses a byte count with an optional unit: `K`/`KiB`, `M`/`MiB`,
/// `G`/`GiB`, `T`/`TiB` are powers of 1024; `KB`, `MB`, `GB`, `TB` powers
/// of 1000; `B` or none is bytes. Case-insensitive; overflow is an error.
pub fn parse_size(text: &str) -> Result<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let digits = digits.replace('_', "");
    if digits.is_empty() {
        bail!("expected a size such as 65536, 64MiB or 2GiB, found `{text}`");
    }
    let number: u64 = digits.parse()?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => bail!("unknown size unit `{other}` (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)"),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| anyhow::anyhow!("size `{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn units() {
        assert_eq!(parse_size("65536").unwrap(), 65536);
        assert_eq!(parse_size("64KiB").unwrap(), 64 << 10);
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("2g").unwrap(), 2 << 30);
        assert_eq!(parse_size("500MB").unwrap(), 500_000_000);
        assert_eq!(parse_size("1_000").unwrap(), 1000);
        assert!(parse_size("").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert!(parse_size("99999999999TiB").is_err());
    }
}
