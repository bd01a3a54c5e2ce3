//! Tags on resources (AWS `Tag`): the limits and validators every tagging API shares.

use std::collections::HashSet;

use crate::error::Violations;

/// The most tags one resource (and one request) may carry.
pub const MAX_TAGS: usize = 50;
/// Longest tag key, in characters.
pub const MAX_TAG_KEY: usize = 128;
/// Longest tag value, in characters.
pub const MAX_TAG_VALUE: usize = 256;

/// A tag key: 1-128 characters of letters, numbers, spaces and `_ . : / = + - @` (AWS
/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`), not starting with the reserved prefix "aws:".
pub fn validate_tag_key(key: &str) -> Result<(), String> {
    let length = key.chars().count();
    if length == 0 {
        return Err("must have at least 1 character".to_string());
    }
    if length > MAX_TAG_KEY {
        return Err(format!(
            "has {length} characters; Member must have length less than or equal to {MAX_TAG_KEY}"
        ));
    }
    let allowed = |character: char| {
        character.is_alphanumeric()
            || (character.is_whitespace() && !character.is_control())
            || "_.:/=+-@".contains(character)
    };
    if !key.chars().all(allowed) {
        return Err(
            "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+ \
             (letters, numbers, spaces and _ . : / = + - @)"
                .to_string(),
        );
    }
    if key
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:"))
    {
        return Err("must not start with \"aws:\", which is reserved".to_string());
    }
    Ok(())
}

/// A tag value: 0-256 characters.
pub fn validate_tag_value(value: &str) -> Result<(), String> {
    let length = value.chars().count();
    if length > MAX_TAG_VALUE {
        Err(format!(
            "has {length} characters; Member must have length less than or equal to \
             {MAX_TAG_VALUE}"
        ))
    } else {
        Ok(())
    }
}

/// Checks a list of (key, value) tags under `field`: at most 50 (at least one when `required`),
/// each key and value valid, no key twice (compared ignoring case, as AWS does).
pub fn check_tags<'a>(
    violations: &mut Violations,
    field: &str,
    tags: &[(&'a str, &'a str)],
    required: bool,
) {
    if required && tags.is_empty() {
        violations.add(field, "must list 1-50 tags");
    }
    if tags.len() > MAX_TAGS {
        violations.add(
            field,
            format!(
                "lists {} tags; Member must have length less than or equal to {MAX_TAGS}",
                tags.len()
            ),
        );
    }
    let mut seen = HashSet::new();
    for (index, (key, value)) in tags.iter().enumerate() {
        violations.check(format!("{field}[{index}].key"), validate_tag_key(key));
        violations.check(format!("{field}[{index}].value"), validate_tag_value(value));
        if !seen.insert(key.to_lowercase()) {
            violations.add(
                format!("{field}[{index}].key"),
                format!(
                    "Duplicate tag keys found. {:?} appears more than once (keys are compared \
                     ignoring case)",
                    crate::ids::truncate_for_message(key)
                ),
            );
        }
    }
}
