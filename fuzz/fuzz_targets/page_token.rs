//! Page tokens: opening any string never panics, an issued token opens to exactly the position it
//! was issued for (floats to the same bits), and any other string, the same token in another
//! scope, or a token of another secret is `InvalidNextTokenException`.

#![no_main]

use libfuzzer_sys::{arbitrary::Arbitrary, fuzz_target};
use serde_json::Value;
use tributary_runtime::{Error, error::reason, paging::PageTokens};

/// One value of a keyset position, as the services put them in tokens.
#[derive(Debug, Arbitrary)]
enum Key {
    Text(String),
    Integer(i64),
    Unsigned(u64),
    Float(f64),
    Flag(bool),
    Missing,
}

impl Key {
    fn json(&self) -> Value {
        match self {
            Key::Text(text) => Value::from(text.as_str()),
            Key::Integer(integer) => Value::from(*integer),
            Key::Unsigned(unsigned) => Value::from(*unsigned),
            Key::Float(float) => {
                serde_json::Number::from_f64(*float).map_or(Value::Null, Value::Number)
            }
            Key::Flag(flag) => Value::from(*flag),
            Key::Missing => Value::Null,
        }
    }
}

/// An edit a client might make to a token before sending it back.
#[derive(Debug, Arbitrary)]
enum Edit {
    Replace(usize, char),
    Insert(usize, char),
    Remove(usize),
    Truncate(usize),
    Append(String),
}

#[derive(Debug, Arbitrary)]
struct Input {
    secret: Vec<u8>,
    scope: String,
    other_scope: String,
    position: Vec<Key>,
    edits: Vec<Edit>,
    /// Any string a client sends.
    sent: String,
}

fn edited(token: &str, edits: &[Edit]) -> String {
    let mut characters: Vec<char> = token.chars().collect();
    for edit in edits {
        let at = |index: usize, len: usize| if len == 0 { 0 } else { index % len };
        match edit {
            Edit::Replace(index, character) if !characters.is_empty() => {
                let index = at(*index, characters.len());
                characters[index] = *character;
            }
            Edit::Replace(..) => {}
            Edit::Insert(index, character) => {
                let index = at(*index, characters.len() + 1);
                characters.insert(index, *character);
            }
            Edit::Remove(index) if !characters.is_empty() => {
                let index = at(*index, characters.len());
                characters.remove(index);
            }
            Edit::Remove(_) => {}
            Edit::Truncate(length) => characters.truncate(*length),
            Edit::Append(text) => characters.extend(text.chars()),
        }
    }
    characters.into_iter().collect()
}

fn assert_invalid_token(result: Result<Option<Value>, Error>, what: &str) {
    match result {
        Err(Error::InvalidInput { reason: got, .. }) => {
            assert_eq!(got, reason::INVALID_NEXT_TOKEN, "{what}");
        }
        other => panic!("{what}: expected InvalidNextTokenException, got {other:?}"),
    }
}

fuzz_target!(|input: Input| {
    let tokens = PageTokens::new(&input.secret);
    let position = Value::Array(input.position.iter().map(Key::json).collect());
    let token = tokens.issue(&input.scope, &position);

    // Issued tokens open to exactly their position, within their scope only.
    let opened = tokens.open::<Value>(&input.scope, &token);
    assert_eq!(
        opened.as_ref().ok(),
        Some(&Some(position.clone())),
        "round trip of {token}"
    );
    if input.other_scope != input.scope {
        assert_invalid_token(tokens.open(&input.other_scope, &token), "another scope");
    }
    // HMAC pads short keys with zeros, so the other secret differs by a non-zero byte.
    let mut other_secret = input.secret.clone();
    other_secret.push(1);
    assert_invalid_token(
        PageTokens::new(&other_secret).open(&input.scope, &token),
        "another secret",
    );

    // Anything else the client sends is refused, never a panic.
    let tampered = edited(&token, &input.edits);
    if tampered != token && !tampered.is_empty() {
        assert_invalid_token(tokens.open(&input.scope, &tampered), "an edited token");
    }
    if input.sent != token && !input.sent.is_empty() {
        assert_invalid_token(tokens.open(&input.scope, &input.sent), "a foreign string");
    }
    // Typed positions never panic either.
    let _ = tokens.open::<(String, i64)>(&input.scope, &input.sent);
    let _ = tokens.open::<Vec<Value>>(&input.scope, &tampered);
});
