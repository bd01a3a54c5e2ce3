//! Validators for the identifiers every API shares: account ids, region names, names and tags.
//! Each returns `Err(description)` suitable for a field violation.

/// An account id is exactly 12 decimal digits.
pub fn validate_account_id(account_id: &str) -> Result<(), String> {
    if account_id.len() == 12 && account_id.bytes().all(|byte| byte.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "must be a 12-digit account id, got {:?}",
            truncate_for_message(account_id)
        ))
    }
}

/// A region name has the AWS shape: lowercase groups joined by hyphens ending in a number, such
/// as `us-east-1`, `us-gov-west-1` or `ap-southeast-2`.
pub fn validate_region_name(region: &str) -> Result<(), String> {
    let groups: Vec<&str> = region.split('-').collect();
    let shaped = region.len() <= 32
        && groups.len() >= 3
        && groups[..groups.len() - 1]
            .iter()
            .all(|group| !group.is_empty() && group.bytes().all(|byte| byte.is_ascii_lowercase()))
        && groups
            .last()
            .is_some_and(|last| !last.is_empty() && last.bytes().all(|byte| byte.is_ascii_digit()));
    if shaped {
        Ok(())
    } else {
        Err(format!(
            "must be a region name such as \"us-east-1\", got {:?}",
            truncate_for_message(region)
        ))
    }
}

/// An aggregator name: 1-256 of letters, digits, `_` and `-` (AWS `[\w\-]+`), case-sensitive.
pub fn validate_aggregator_name(name: &str) -> Result<(), String> {
    let length = name.chars().count();
    let shaped = (1..=256).contains(&length)
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if shaped {
        Ok(())
    } else {
        Err(format!(
            "must be 1-256 letters, digits, underscores or hyphens, got {:?}",
            truncate_for_message(name)
        ))
    }
}

/// A human label: 1 to `max` characters, no control characters.
pub fn validate_label(label: &str, max: usize) -> Result<(), String> {
    let length = label.chars().count();
    if length == 0 || length > max {
        Err(format!("must be 1-{max} characters, got {length}"))
    } else if label.chars().any(char::is_control) {
        Err("must not contain control characters".to_string())
    } else {
        Ok(())
    }
}

/// Shortens user input quoted back in an error message.
pub fn truncate_for_message(value: &str) -> String {
    const LIMIT: usize = 64;
    if value.chars().count() <= LIMIT {
        value.to_string()
    } else {
        let prefix: String = value.chars().take(LIMIT).collect();
        format!("{prefix}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(validate_account_id("123456789012").is_ok());
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            "１23456789012",
        ] {
            assert!(
                validate_account_id(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn region_names_follow_the_aws_shape() {
        for good in [
            "us-east-1",
            "eu-west-1",
            "ap-southeast-2",
            "us-gov-west-1",
            "il-central-1",
        ] {
            assert!(
                validate_region_name(good).is_ok(),
                "{good} should be accepted"
            );
        }
        for bad in [
            "",
            "global",
            "us-east",
            "US-EAST-1",
            "us--1",
            "us-east-1a",
            "us_east_1",
            "-us-east-1",
        ] {
            assert!(
                validate_region_name(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn labels_are_bounded() {
        assert!(validate_label("ops key", 128).is_ok());
        assert!(validate_label("", 128).is_err());
        assert!(validate_label(&"x".repeat(129), 128).is_err());
        assert!(validate_label("a\nb", 128).is_err());
    }
}
