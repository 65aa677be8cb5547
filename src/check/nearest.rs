//! Nearest-name suggestions for diagnostics ("did you mean `dau`?").

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions), on chars.
/// Three rolling rows, on the stack for words up to 63 characters (the common case).
pub fn distance(a: &str, b: &str) -> usize {
    let mut a_buf = ['\0'; 64];
    let mut b_buf = ['\0'; 64];
    let (a_len, b_len) = (a.chars().count(), b.chars().count());
    if a_len >= 64 || b_len >= 64 {
        return distance_long(a, b);
    }
    for (i, c) in a.chars().enumerate() {
        a_buf[i] = c;
    }
    for (i, c) in b.chars().enumerate() {
        b_buf[i] = c;
    }
    let (a, b) = (&a_buf[..a_len], &b_buf[..b_len]);
    let mut before = [0usize; 64];
    let mut prev = [0usize; 64];
    let mut cur = [0usize; 64];
    for (j, cell) in prev.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        // Only the cells in use move (a whole row is 512 bytes; a word is a few).
        before[..=b.len()].copy_from_slice(&prev[..=b.len()]);
        prev[..=b.len()].copy_from_slice(&cur[..=b.len()]);
    }
    prev[b.len()]
}

fn distance_long(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[n][m]
}

/// Normalises a name as people type it: lowercase, trimmed, spaces and dashes as underscores.
pub fn normalise(s: &str) -> String {
    s.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

/// The candidate nearest to `input` (by its canonical name or any alias), if close enough to be a
/// plausible slip: distance at most a third of the longer word, and at least one edit allowed.
/// Candidates are `(canonical, aliases)`; ties go to the first candidate.
pub fn nearest<'a>(input: &str, candidates: &[(&'a str, Vec<&str>)]) -> Option<&'a str> {
    let input = normalise(input);
    let input_len = input.chars().count();
    let mut best: Option<(usize, &'a str)> = None;
    for (name, aliases) in candidates {
        for alias in std::iter::once(*name).chain(aliases.iter().copied()) {
            let alias = normalise(alias);
            let alias_len = alias.chars().count();
            let limit = (input_len.max(alias_len) / 3).max(1);
            // The distance is at least the difference in length: most aliases of a large
            // catalog are ruled out without computing it.
            if input_len.abs_diff(alias_len) > limit {
                continue;
            }
            let d = distance(&input, &alias);
            if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, name));
            }
        }
    }
    best.map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_slips_not_strangers() {
        let c = vec![
            ("dau", vec!["daily active users"]),
            ("mau", vec![]),
            ("signups", vec!["sign ups"]),
        ];
        assert_eq!(nearest("dua", &c), Some("dau"));
        assert_eq!(nearest("singups", &c), Some("signups"));
        assert_eq!(nearest("Daily Active User", &c), Some("dau"));
        assert_eq!(nearest("revenue", &c), None);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        let long = "x".repeat(70);
        assert_eq!(distance(&long, &format!("{long}y")), 1);
    }
}
