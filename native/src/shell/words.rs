//! A shell line as words (quotes and backslashes as in sh), and the
//! command a mistyped word was probably meant to be.

/// Splits a line into words: blanks separate them, `'…'` and `"…"` keep
/// blanks inside one word, a backslash takes the next character as it is.
/// An unclosed quote is an error, in words.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' | '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => w.extend(chars.next()),
                        Some(other) => w.push(other),
                        None => return Err(format!("the {c} quote is not closed")),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// A word as the shell would need it typed: quoted when it holds blanks,
/// quotes or backslashes.
pub fn quote(word: &str) -> String {
    if !word.is_empty() && !word.contains(|c: char| c.is_whitespace() || "'\"\\".contains(c)) {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The candidate closest to `typed` (letter case ignored) if it is a likely
/// typo: at most two edits away, and fewer than the word's length.
pub fn closest<'a>(typed: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let typed = typed.to_ascii_uppercase();
    candidates
        .iter()
        .map(|c| (distance(&typed, c), *c))
        .filter(|(d, _)| *d <= 2 && *d < typed.len())
        .min()
        .map(|(_, c)| c)
}

/// Edit distance (insertions, deletions, substitutions).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(here + 1);
            previous = here;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_blanks_and_keep_quoted_ones_whole() {
        assert_eq!(split("get a b").unwrap(), ["get", "a", "b"]);
        assert_eq!(
            split("  get   'my file.txt' \"x y\"").unwrap(),
            ["get", "my file.txt", "x y"]
        );
        assert_eq!(
            split(r"get my\ file it\'s").unwrap(),
            ["get", "my file", "it's"]
        );
        assert_eq!(
            split(r#"get "a \"b\"" ''"#).unwrap(),
            ["get", "a \"b\"", ""]
        );
        assert!(split("get 'open").unwrap_err().contains("not closed"));
        assert!(split("").unwrap().is_empty());
    }

    #[test]
    fn quoting_round_trips() {
        for word in ["plain.txt", "my file.txt", "it's", "a\\b", ""] {
            assert_eq!(split(&quote(word)).unwrap(), [word], "{word}");
        }
    }

    #[test]
    fn typos_find_their_command() {
        let commands = ["DOWNLOAD", "UPLOAD", "LIST", "QUIT"];
        assert_eq!(closest("donwload", &commands), Some("DOWNLOAD"));
        assert_eq!(closest("lsit", &commands), Some("LIST"));
        assert_eq!(closest("uplod", &commands), Some("UPLOAD"));
        assert_eq!(closest("xyz", &commands), None);
        assert_eq!(closest("q", &commands), None);
    }
}
