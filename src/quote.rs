//! POSIX shell quoting for the commands toolchainkit prints for a person or a script to
//! run (`server`, `cmake`, `container`). A word made only of characters no shell treats
//! specially stays bare; anything else is single-quoted, with `'` written as `'\''`.

/// One word as a POSIX shell reads it back unchanged.
pub(crate) fn sh_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::sh_word;

    #[test]
    fn bare_when_safe_quoted_otherwise() {
        assert_eq!(sh_word("--env=A=/x/y.z"), "--env=A=/x/y.z");
        assert_eq!(sh_word(""), "''");
        assert_eq!(sh_word("a b"), "'a b'");
        assert_eq!(sh_word("it's $(x)"), "'it'\\''s $(x)'");
        assert_eq!(sh_word("*"), "'*'");
    }
}
