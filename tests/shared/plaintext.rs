//! Looking for plaintext in raw storage that also holds base64 ciphertext: shared by the
//! personal-data tests of the library and of the server.

/// Whether `word` stands in `text` as plaintext: somewhere not inside a run of base64 (or
/// base64url) characters. Ciphertext is base64, and a short word such as a first name turns up
/// inside random base64 now and then, so a plain `contains` would fail by chance.
pub fn holds_plaintext(text: &str, word: &str) -> bool {
    let base64 = |c: char| c.is_ascii_alphanumeric() || "+/=_-".contains(c);
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(base64) && !after.is_some_and(base64)
    })
}
