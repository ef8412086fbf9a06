//! Redaction: presigned-URL queries and credentials never reach a message,
//! an `innerStack` or a log line.

/// Replaces the query of every URL in `text` with `<redacted>`, and the value
/// of any `Authorization`, `Cookie`, `X-Api-Key` or token-like `key=value`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = find_url(rest) {
        out.push_str(&rest[..start]);
        let url_end = rest[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>' | ','))
            .map_or(rest.len(), |e| start + e);
        out.push_str(&redact_url(&rest[start..url_end]));
        rest = &rest[url_end..];
    }
    out.push_str(rest);
    redact_secrets(&out)
}

fn find_url(text: &str) -> Option<usize> {
    match (text.find("http://"), text.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A URL without its query (where signatures live) or user info.
pub fn redact_url(url: &str) -> String {
    let (base, had_query) = match url.split_once('?') {
        Some((base, _)) => (base, true),
        None => (url, false),
    };
    let base = match base.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('/') {
            Some((authority, path)) => format!("{scheme}://{}/{path}", strip_userinfo(authority)),
            None => format!("{scheme}://{}", strip_userinfo(rest)),
        },
        None => base.to_string(),
    };
    if had_query {
        format!("{base}?<redacted>")
    } else {
        base
    }
}

fn strip_userinfo(authority: &str) -> &str {
    authority.rsplit_once('@').map_or(authority, |(_, host)| host)
}

fn redact_secrets(text: &str) -> String {
    const KEYS: [&str; 9] =
        ["authorization", "cookie", "x-api-key", "sig=", "token", "password", "secret", "access_token", "bearer "];
    let lower = text.to_ascii_lowercase();
    if !KEYS.iter().any(|k| lower.contains(k)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let lower = line.to_ascii_lowercase();
        if let Some(pos) = ["authorization:", "cookie:", "x-api-key:", "bearer "]
            .iter()
            .find_map(|k| lower.find(k).map(|p| p + k.len()))
        {
            out.push_str(&line[..pos]);
            out.push_str(" <redacted>");
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_queries_and_user_info() {
        let msg = "error sending request for url (http://127.0.0.1:9/dam-uploads/x?comp=block&sig=SECRET): reset";
        let red = redact(msg);
        assert!(!red.contains("SECRET"), "{red}");
        assert!(red.contains("http://127.0.0.1:9/dam-uploads/x?<redacted>"));
        assert_eq!(redact_url("https://user:pw@host/a?b=c"), "https://host/a?<redacted>");
        assert_eq!(redact_url("https://host"), "https://host");
    }

    #[test]
    fn header_values_are_hidden() {
        assert_eq!(redact("Authorization: Basic abc"), "Authorization: <redacted>");
        assert_eq!(redact("sent Bearer abc.def"), "sent Bearer  <redacted>");
        assert_eq!(redact("nothing to hide"), "nothing to hide");
    }
}
