//! The Python-literal subset that `.npy` headers are written in.
//!
//! NumPy writes the header with `repr` and reads it with `ast.literal_eval`.
//! This module parses the subset of Python literals a header can need —
//! dicts, lists, tuples, strings, integers, `True`/`False`/`None` — into a
//! small tree, with an explicit nesting limit so no input can exhaust the
//! stack. The grammar is written down in `spec/header.ebnf`; each parser
//! function below accepts one production of it.
//!
//! Parsing is linear in the input: no backtracking past a committed opening
//! delimiter (`cut`), and every repetition consumes input.

use std::borrow::Cow;
use std::cell::Cell;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, satisfy};
use nom::combinator::{cut, opt, recognize};
use nom::error::{ContextError, ErrorKind as NomKind, ParseError, context};
use nom::{IResult, Parser};

use crate::error::{Error, ErrorKind, Result, snippet};

/// Deepest bracket nesting accepted: CPython's parser stops at 200 nested
/// brackets, so this accepts every header NumPy can read and nothing deeper.
pub const MAX_DEPTH: usize = 200;

/// Longest integer literal accepted, in digits. Any valid size fits in 20
/// digits; the margin accepts zero-padded oddities without bignums.
const MAX_INT_DIGITS: usize = 38;

/// A parsed literal with the byte offset where it starts in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Lit<'a> {
    /// Byte offset of the literal in the parsed text.
    pub at: usize,
    /// The value.
    pub val: Val<'a>,
}

/// The value of a literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    /// A string, borrowed when it had no escapes.
    Str(Cow<'a, str>),
    /// An integer (Python ints are unbounded; longer ones are refused).
    Int(i128),
    /// A float (never valid in a header, parsed so errors can say so).
    Float(f64),
    /// `True` or `False`.
    Bool(bool),
    /// `None`.
    None,
    /// `(a, b)`, `(a,)` or `()`.
    Tuple(Vec<Lit<'a>>),
    /// `[a, b]`.
    List(Vec<Lit<'a>>),
    /// `{k: v, ...}` in source order (duplicates kept for the caller to judge).
    Dict(Vec<(Lit<'a>, Lit<'a>)>),
}

impl Val<'_> {
    /// A short name of the value's type and value for error messages.
    pub fn describe(&self) -> String {
        match self {
            Val::Str(s) => format!("the string \"{}\"", snippet(s)),
            Val::Int(i) => format!("the integer {i}"),
            Val::Float(x) => format!("the float {x:?}"),
            Val::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Val::None => "None".to_string(),
            Val::Tuple(v) => format!("a tuple of {} items", v.len()),
            Val::List(v) => format!("a list of {} items", v.len()),
            Val::Dict(v) => format!("a dict of {} items", v.len()),
        }
    }
}

/// Options of the grammar that depend on the format version.
#[derive(Debug, Clone, Copy)]
pub struct Grammar {
    /// Accept Python 2's `L` suffix on integers (NumPy does for v1.0 / v2.0).
    pub long_suffix: bool,
}

/// Parses `text` as exactly one literal, surrounded only by whitespace.
///
/// # Errors
/// `HeaderSyntax` (with the byte offset of the problem), `IntegerTooLarge`
/// or `TooDeep`.
pub fn parse(text: &str, grammar: Grammar) -> Result<Lit<'_>> {
    let p = Parsers {
        base: text,
        grammar,
        steps: Cell::new(0),
    };
    let res = (|i| p.ws(i), |i| p.value(i, 0), |i| p.ws(i)).parse(text);
    // Linear work: every value and every whitespace step consumes input
    // (see the module doc); the fuzz targets run with this assertion on.
    debug_assert!(
        p.steps.get() <= 16 * (text.len() + 1),
        "{} parser steps for {} bytes",
        p.steps.get(),
        text.len()
    );
    match res {
        Ok(("", (_, lit, _))) => Ok(lit),
        Ok((rest, _)) => Err(syntax(text, rest, "end of header")),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e.into_error(text)),
        Err(nom::Err::Incomplete(_)) => Err(syntax(text, "", "more input")),
    }
}

fn syntax(base: &str, rest: &str, expected: &str) -> Error {
    Error::new(ErrorKind::HeaderSyntax {
        expected: expected.to_string(),
        found: found(rest),
    })
    .at(offset(base, rest))
}

fn found(rest: &str) -> String {
    match rest.chars().next() {
        None => "end of header".to_string(),
        Some(_) => format!(
            "\"{}\"",
            snippet(rest.get(..rest.floor_char_boundary(24)).unwrap_or(rest))
        ),
    }
}

fn offset(base: &str, rest: &str) -> u64 {
    // `rest` is always a suffix of `base`.
    u64::try_from(base.len().saturating_sub(rest.len())).unwrap_or(u64::MAX)
}

/// The nom error: where parsing stopped, what the grammar wanted there and,
/// for errors that are not about syntax, the specific kind.
#[derive(Debug)]
struct PErr<'a> {
    rest: &'a str,
    expected: Option<&'static str>,
    special: Option<Special>,
}

#[derive(Debug, Clone, Copy)]
enum Special {
    IntTooLarge(usize),
    TooDeep,
}

impl<'a> PErr<'a> {
    fn fail(rest: &'a str, special: Special) -> nom::Err<Self> {
        nom::Err::Failure(PErr {
            rest,
            expected: None,
            special: Some(special),
        })
    }

    fn into_error(self, base: &str) -> Error {
        let kind = match self.special {
            Some(Special::IntTooLarge(digits)) => ErrorKind::IntegerTooLarge { digits },
            Some(Special::TooDeep) => ErrorKind::TooDeep { max: MAX_DEPTH },
            None => ErrorKind::HeaderSyntax {
                expected: self.expected.unwrap_or("a literal").to_string(),
                found: found(self.rest),
            },
        };
        Error::new(kind).at(offset(base, self.rest))
    }
}

impl<'a> ParseError<&'a str> for PErr<'a> {
    fn from_error_kind(rest: &'a str, _kind: NomKind) -> Self {
        PErr {
            rest,
            expected: None,
            special: None,
        }
    }

    fn append(_rest: &'a str, _kind: NomKind, other: Self) -> Self {
        other
    }

    fn or(self, other: Self) -> Self {
        // Prefer the alternative that got further; on a tie the later one,
        // whose context label is usually the more general expectation.
        if self.rest.len() < other.rest.len() {
            self
        } else {
            other
        }
    }
}

impl<'a> ContextError<&'a str> for PErr<'a> {
    fn add_context(_rest: &'a str, ctx: &'static str, mut other: Self) -> Self {
        // The innermost label is the most precise one: keep it.
        other.expected.get_or_insert(ctx);
        other
    }
}

type Res<'a, T> = IResult<&'a str, T, PErr<'a>>;

struct Parsers<'a> {
    base: &'a str,
    grammar: Grammar,
    /// Values started plus whitespace loop turns, for the linear-work check.
    steps: Cell<usize>,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

impl<'a> Parsers<'a> {
    fn step(&self) {
        self.steps.set(self.steps.get().saturating_add(1));
    }

    fn at(&self, rest: &str) -> usize {
        self.base.len().saturating_sub(rest.len())
    }

    /// `ws`: spaces, tabs, newlines, form feeds, `\`-newline continuations
    /// and `#` comments (Python's tokenizer skips all of these inside brackets).
    fn ws(&self, mut i: &'a str) -> Res<'a, ()> {
        loop {
            self.step();
            let (r, _) = take_while(is_space)(i)?;
            i = r;
            if let Some(r) = i.strip_prefix("\\\n") {
                i = r;
            } else if i.starts_with('#') {
                let (r, _) = take_while(|c| c != '\n')(i)?;
                i = r;
            } else {
                return Ok((i, ()));
            }
        }
    }

    /// `value`: any literal of the subset.
    ///
    /// The first character decides which production can apply (as Python's
    /// tokenizer does), so each value runs one parser instead of trying six.
    fn value(&self, i: &'a str, depth: usize) -> Res<'a, Lit<'a>> {
        self.step();
        let at = self.at(i);
        let production = match i.as_bytes().first() {
            Some(b'\'' | b'"') => Self::string,
            // A string prefix, or else a keyword (`True`, `False`, `None`).
            Some(b'u' | b'U' | b'r' | b'R') => Self::string_or_keyword,
            Some(b'0'..=b'9' | b'-' | b'+') => Self::integer,
            Some(b'(') => return self.wrap(at, self.tuple(i, depth)),
            Some(b'[') => return self.wrap(at, self.list(i, depth)),
            Some(b'{') => return self.wrap(at, self.dict(i, depth)),
            _ => Self::keyword,
        };
        self.wrap(at, context("a literal", |i| production(self, i)).parse(i))
    }

    fn wrap(&self, at: usize, res: Res<'a, Val<'a>>) -> Res<'a, Lit<'a>> {
        let (i, val) = match res {
            Err(nom::Err::Error(e)) => {
                return Err(nom::Err::Error(PErr::add_context(e.rest, "a literal", e)));
            }
            other => other?,
        };
        Ok((i, Lit { at, val }))
    }

    fn string_or_keyword(&self, i: &'a str) -> Res<'a, Val<'a>> {
        alt((|i| self.string(i), |i| self.keyword(i))).parse(i)
    }

    /// `keyword`: `True`, `False` or `None`, not followed by a name character.
    fn keyword(&self, i: &'a str) -> Res<'a, Val<'a>> {
        let (rest, word) = take_while1(|c: char| c.is_alphanumeric() || c == '_')(i)?;
        match word {
            "True" => Ok((rest, Val::Bool(true))),
            "False" => Ok((rest, Val::Bool(false))),
            "None" => Ok((rest, Val::None)),
            _ => Err(nom::Err::Error(PErr::from_error_kind(i, NomKind::Tag))),
        }
    }

    /// `integer`: optional sign, decimal digits with single `_` separators,
    /// no leading zeros (as in Python 3), and `L` where the grammar allows it.
    fn integer(&self, i: &'a str) -> Res<'a, Val<'a>> {
        let (i, sign) = opt(alt((char('-'), char('+')))).parse(i)?;
        let (i, _) = if sign.is_some() { self.ws(i)? } else { (i, ()) };
        let start = i;
        let (i, digits) = recognize((
            satisfy(|c| c.is_ascii_digit()),
            take_while(|c: char| c.is_ascii_digit() || c == '_'),
        ))
        .parse(i)?;
        if digits.ends_with('_') || digits.contains("__") {
            return Err(nom::Err::Failure(PErr {
                rest: start,
                expected: Some("digits around '_'"),
                special: None,
            }));
        }
        let clean: Cow<'_, str> = if digits.contains('_') {
            Cow::Owned(digits.replace('_', ""))
        } else {
            Cow::Borrowed(digits)
        };
        if clean.len() > 1 && clean.starts_with('0') && clean.bytes().any(|b| b != b'0') {
            return Err(nom::Err::Failure(PErr {
                rest: start,
                expected: Some("an integer without leading zeros"),
                special: None,
            }));
        }
        if clean.len() > MAX_INT_DIGITS {
            return Err(PErr::fail(start, Special::IntTooLarge(clean.len())));
        }
        let mut v: i128 = 0;
        for b in clean.bytes() {
            // At most 38 digits: below i128::MAX (about 1.7e38), cannot overflow.
            v = v * 10 + i128::from(b - b'0');
        }
        if sign == Some('-') {
            v = -v;
        }
        if i.starts_with(['.', 'e', 'E']) {
            return self.float_tail(start, i, sign == Some('-'));
        }
        let i = if self.grammar.long_suffix {
            i.strip_prefix('L').unwrap_or(i)
        } else {
            i
        };
        if i.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.') {
            return Err(nom::Err::Failure(PErr {
                rest: i,
                expected: Some("the end of the integer"),
                special: None,
            }));
        }
        Ok((i, Val::Int(v)))
    }

    /// The rest of a float after its integer digits: `.digits` and/or an
    /// exponent. Floats are never valid header values; parsing them lets the
    /// error name the value instead of a syntax position.
    fn float_tail(&self, start: &'a str, i: &'a str, negative: bool) -> Res<'a, Val<'a>> {
        let (rest, _) = recognize((
            opt((char('.'), take_while(|c: char| c.is_ascii_digit()))),
            opt((
                alt((char('e'), char('E'))),
                opt(alt((char('+'), char('-')))),
                take_while1(|c: char| c.is_ascii_digit()),
            )),
        ))
        .parse(i)?;
        let text = &start[..start.len() - rest.len()];
        let x: f64 = text.replace('_', "").parse().map_err(|_| {
            nom::Err::Failure(PErr {
                rest: start,
                expected: Some("a number"),
                special: None,
            })
        })?;
        Ok((rest, Val::Float(if negative { -x } else { x })))
    }

    /// `string`: a single- or double-quoted string with an optional `u`, `r`
    /// prefix; Python's escapes; no raw newline and no NUL byte inside.
    fn string(&self, i: &'a str) -> Res<'a, Val<'a>> {
        let (i, prefix) = opt(alt((tag("u"), tag("U"), tag("r"), tag("R")))).parse(i)?;
        let raw = matches!(prefix, Some("r" | "R"));
        let (i, quote) = alt((char('\''), char('"'))).parse(i)?;
        if i.starts_with(quote) && i.chars().nth(1) == Some(quote) {
            return Err(nom::Err::Failure(PErr {
                rest: i,
                expected: Some("a single-quoted string (triple quotes are not supported)"),
                special: None,
            }));
        }
        // Fast path: no escapes before the closing quote.
        if let Some(n) = i.find([quote, '\\', '\n', '\0'])
            && let (Some(body), Some(rest)) =
                (i.get(..n), i.get(n..).and_then(|r| r.strip_prefix(quote)))
        {
            return Ok((rest, Val::Str(Cow::Borrowed(body))));
        }
        let mut out = String::new();
        let mut rest = i;
        loop {
            let mut chars = rest.chars();
            let Some(c) = chars.next() else {
                return Err(nom::Err::Failure(PErr {
                    rest,
                    expected: Some("a closing quote"),
                    special: None,
                }));
            };
            match c {
                '\n' | '\0' => {
                    return Err(nom::Err::Failure(PErr {
                        rest,
                        expected: Some("a closing quote"),
                        special: None,
                    }));
                }
                c if c == quote => return Ok((chars.as_str(), Val::Str(Cow::Owned(out)))),
                '\\' if raw => {
                    // In raw strings a backslash keeps the next char, quote included.
                    out.push('\\');
                    match chars.next() {
                        Some(n) if n != '\n' && n != '\0' => out.push(n),
                        _ => {
                            return Err(nom::Err::Failure(PErr {
                                rest,
                                expected: Some("a closing quote"),
                                special: None,
                            }));
                        }
                    }
                    rest = chars.as_str();
                }
                '\\' => {
                    rest = self.escape(chars.as_str(), &mut out)?;
                }
                c => {
                    out.push(c);
                    rest = chars.as_str();
                }
            }
        }
    }

    /// One escape sequence after a backslash, appended to `out`.
    fn escape(&self, i: &'a str, out: &mut String) -> Result<&'a str, nom::Err<PErr<'a>>> {
        let bad = |rest| {
            nom::Err::Failure(PErr {
                rest,
                expected: Some("a valid escape sequence"),
                special: None,
            })
        };
        let mut chars = i.chars();
        let Some(c) = chars.next() else {
            return Err(bad(i));
        };
        let rest = chars.as_str();
        let simple = match c {
            '\n' => Some(None),
            '\\' => Some(Some('\\')),
            '\'' => Some(Some('\'')),
            '"' => Some(Some('"')),
            'a' => Some(Some('\x07')),
            'b' => Some(Some('\x08')),
            'f' => Some(Some('\x0c')),
            'n' => Some(Some('\n')),
            'r' => Some(Some('\r')),
            't' => Some(Some('\t')),
            'v' => Some(Some('\x0b')),
            _ => None,
        };
        if let Some(s) = simple {
            out.extend(s);
            return Ok(rest);
        }
        let (radix, len, rest) = match c {
            'x' => (16, 2, rest),
            'u' => (16, 4, rest),
            'U' => (16, 8, rest),
            '0'..='7' => {
                let n = i
                    .bytes()
                    .take(3)
                    .take_while(|b| (b'0'..=b'7').contains(b))
                    .count();
                (8, n, i)
            }
            '\0' => return Err(bad(i)),
            'N' => {
                // Python decodes \N{NAME} by Unicode name; we carry no name
                // table, and keeping it as text would silently differ.
                return Err(nom::Err::Failure(PErr {
                    rest: i,
                    expected: Some(
                        "an escape other than \\N{...} (named escapes are not supported)",
                    ),
                    special: None,
                }));
            }
            other => {
                // Python keeps unknown escapes as written (with a warning).
                out.push('\\');
                out.push(other);
                return Ok(rest);
            }
        };
        let digits = rest.get(..len).ok_or_else(|| bad(i))?;
        if !digits.chars().all(|c| c.is_digit(radix)) {
            return Err(bad(i));
        }
        let code = u32::from_str_radix(digits, radix).map_err(|_| bad(i))?;
        let ch = char::from_u32(code).ok_or_else(|| bad(i))?;
        if ch == '\0' {
            // Python accepts "\x00", but a NUL never belongs in a header.
            return Err(bad(i));
        }
        out.push(ch);
        Ok(&rest[len..])
    }

    /// Items separated by commas with an optional trailing comma, up to
    /// `close`. Returns the items and whether any comma was seen.
    fn items<T>(
        &self,
        mut i: &'a str,
        close: char,
        mut item: impl FnMut(&'a str) -> Res<'a, T>,
    ) -> Res<'a, (Vec<T>, bool)> {
        let mut out = Vec::new();
        let mut comma = false;
        loop {
            let (r, _) = self.ws(i)?;
            if let Some(r) = r.strip_prefix(close) {
                return Ok((r, (out, comma)));
            }
            let (r, it) = item(r)?;
            out.push(it);
            let (r, _) = self.ws(r)?;
            if let Some(r) = r.strip_prefix(',') {
                comma = true;
                i = r;
            } else if let Some(r) = r.strip_prefix(close) {
                return Ok((r, (out, comma)));
            } else {
                return Err(nom::Err::Failure(PErr {
                    rest: r,
                    expected: Some(match close {
                        ')' => "',' or ')'",
                        ']' => "',' or ']'",
                        _ => "',' or '}'",
                    }),
                    special: None,
                }));
            }
        }
    }

    fn deeper(&self, i: &'a str, depth: usize) -> Result<usize, nom::Err<PErr<'a>>> {
        if depth >= MAX_DEPTH {
            Err(PErr::fail(i, Special::TooDeep))
        } else {
            Ok(depth + 1)
        }
    }

    /// `tuple`: `()`, `(v,)`, `(v, w, ...)`; `(v)` is just `v`, as in Python.
    fn tuple(&self, i: &'a str, depth: usize) -> Res<'a, Val<'a>> {
        let (r, _) = char('(')(i)?;
        let d = self.deeper(i, depth)?;
        let (r, (mut items, comma)) = cut(|r| self.items(r, ')', |r| self.value(r, d))).parse(r)?;
        if items.len() == 1
            && !comma
            && let Some(only) = items.pop()
        {
            return Ok((r, only.val));
        }
        Ok((r, Val::Tuple(items)))
    }

    /// `list`: `[v, w, ...]` with an optional trailing comma.
    fn list(&self, i: &'a str, depth: usize) -> Res<'a, Val<'a>> {
        let (r, _) = char('[')(i)?;
        let d = self.deeper(i, depth)?;
        let (r, (items, _)) = cut(|r| self.items(r, ']', |r| self.value(r, d))).parse(r)?;
        Ok((r, Val::List(items)))
    }

    /// `dict`: `{k: v, ...}` with an optional trailing comma.
    fn dict(&self, i: &'a str, depth: usize) -> Res<'a, Val<'a>> {
        let (r, _) = char('{')(i)?;
        let d = self.deeper(i, depth)?;
        let entry = |r: &'a str| {
            let (r, k) = self.value(r, d)?;
            let (r, _) = self.ws(r)?;
            let (r, _) = context("':'", char(':')).parse(r)?;
            let (r, _) = self.ws(r)?;
            let (r, v) = self.value(r, d)?;
            Ok((r, (k, v)))
        };
        let (r, (items, _)) = cut(|r| self.items(r, '}', entry)).parse(r)?;
        Ok((r, Val::Dict(items)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Grammar = Grammar { long_suffix: true };

    fn p(s: &str) -> Val<'_> {
        parse(s, G).unwrap().val
    }

    #[test]
    fn parses_numpy_header_dict() {
        let v = p("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }          \n");
        let Val::Dict(items) = v else { panic!() };
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].0.val, Val::Str("descr".into()));
        assert_eq!(items[1].1.val, Val::Bool(false));
        assert_eq!(
            items[2].1.val,
            Val::Tuple(vec![
                Lit {
                    at: 51,
                    val: Val::Int(3)
                },
                Lit {
                    at: 54,
                    val: Val::Int(4)
                }
            ])
        );
    }

    #[test]
    fn tuples_follow_python() {
        assert_eq!(p("()"), Val::Tuple(vec![]));
        assert_eq!(p("(3)"), Val::Int(3));
        assert!(matches!(p("(3,)"), Val::Tuple(v) if v.len() == 1));
        assert!(matches!(p("(3L, 4L)"), Val::Tuple(v) if v.len() == 2));
    }

    #[test]
    fn long_suffix_only_when_allowed() {
        let e = parse("3L", Grammar { long_suffix: false }).unwrap_err();
        assert_eq!(e.kind().code(), "header_syntax");
        assert_eq!(e.offset(), Some(1));
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(p(r#""a'b""#), Val::Str("a'b".into()));
        assert_eq!(p(r"'a\'b\\c\x41\u00e9'"), Val::Str("a'b\\cAé".into()));
        assert_eq!(p("u'x'"), Val::Str("x".into()));
        assert_eq!(parse("'abc", G).unwrap_err().kind().code(), "header_syntax");
        assert_eq!(
            parse("'a\0'", G).unwrap_err().kind().code(),
            "header_syntax"
        );
    }

    #[test]
    fn integers() {
        assert_eq!(p("-12"), Val::Int(-12));
        assert_eq!(p("1_000"), Val::Int(1000));
        assert_eq!(p("0"), Val::Int(0));
        assert!(parse("012", G).is_err());
        let e = parse(&"9".repeat(1000), G).unwrap_err();
        assert_eq!(e.kind().code(), "integer_too_large");
    }

    #[test]
    fn work_is_linear_on_worst_shapes() {
        // Each runs the debug assertion on the step count.
        for s in [
            "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH),
            format!("({})", "1,".repeat(10_000)),
            format!("{{{}}}", "'a':(),".repeat(5_000)),
            format!("[{}]", " \\\n#c\n".repeat(5_000)),
            "-".repeat(10_000),
            "u".repeat(10_000),
        ] {
            let _ = parse(&s, G);
        }
    }

    #[test]
    fn depth_is_limited() {
        let s = "[".repeat(100_000);
        let e = parse(&s, G).unwrap_err();
        assert_eq!(e.kind().code(), "too_deep");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok, G).is_ok());
    }

    #[test]
    fn errors_carry_offsets() {
        let e = parse("{'a': 1 'b': 2}", G).unwrap_err();
        assert_eq!(e.offset(), Some(8));
        assert_eq!(
            e.to_string(),
            "header syntax: expected ',' or '}', found \"'b': 2}\" (at byte 8)"
        );
    }
}

#[cfg(test)]
mod escape_tests {
    use super::*;

    #[test]
    fn named_escapes_are_refused_not_kept_as_text() {
        let e = parse(r"'\N{DIGIT ONE}'", Grammar { long_suffix: false }).unwrap_err();
        assert_eq!(e.kind().code(), "header_syntax");
        assert!(
            e.to_string().contains("named escapes are not supported"),
            "{e}"
        );
        assert_eq!(e.offset(), Some(2));
    }
}
