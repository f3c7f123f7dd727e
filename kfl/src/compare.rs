//! KFL's comparison rules on run-time values: numbers compare numerically (text that reads as a
//! number included); a missing value (`nil`) on the left makes every comparison false, `==` and
//! `!=` alike, as in Kubeshark (`x != nil` is the presence test); values of unrelated kinds make
//! `==` and ordering false and `!=` true.

use std::cmp::Ordering;

use crate::value::Value;

/// A comparison operator (`== != < <= > >=`), in filters and in index predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// Whether `ordering` (of left against right) satisfies the operator.
    pub fn holds(self, ordering: Ordering) -> bool {
        match self {
            CmpOp::Eq => ordering == Ordering::Equal,
            CmpOp::Ne => ordering != Ordering::Equal,
            CmpOp::Lt => ordering == Ordering::Less,
            CmpOp::Le => ordering != Ordering::Greater,
            CmpOp::Gt => ordering == Ordering::Greater,
            CmpOp::Ge => ordering != Ordering::Less,
        }
    }

    /// The operator with its operands swapped: `a < b` is `b > a`.
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            same => same,
        }
    }

    /// The operator as written in KFL.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A borrowed, normalized view of a value: JSON scalars read as the plain values they stand for.
#[derive(Debug, Clone, Copy)]
pub enum View<'b> {
    /// Absent or `null`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text.
    Str(&'b str),
    /// Nanoseconds since the epoch.
    Time(i64),
    /// Nanoseconds.
    Duration(i64),
    /// A list of values.
    List(&'b [Value<'b>]),
    /// A JSON array or object.
    Json(&'b serde_json::Value),
}

impl<'b> View<'b> {
    /// Views `value` without copying it.
    pub fn of(value: &'b Value<'_>) -> View<'b> {
        match value {
            Value::Nil => View::Nil,
            Value::Bool(b) => View::Bool(*b),
            Value::Int(n) => View::Int(*n),
            Value::Float(n) => View::Float(*n),
            Value::Str(text) => View::Str(text),
            Value::Time(ns) => View::Time(*ns),
            Value::Duration(ns) => View::Duration(*ns),
            Value::List(items) => View::List(items),
            Value::Json(json) => View::json(json),
        }
    }

    /// Views a JSON value.
    pub fn json(json: &'b serde_json::Value) -> View<'b> {
        match json {
            serde_json::Value::Null => View::Nil,
            serde_json::Value::Bool(b) => View::Bool(*b),
            serde_json::Value::Number(n) => n
                .as_i64()
                .map_or_else(|| View::Float(n.as_f64().unwrap_or(f64::NAN)), View::Int),
            serde_json::Value::String(text) => View::Str(text),
            other => View::Json(other),
        }
    }
}

/// Whether a value stands for a true condition: only `true` does; `nil` and everything else is false.
pub fn truthy(value: &Value<'_>) -> bool {
    matches!(View::of(value), View::Bool(true))
}

/// Applies `op` to two values with KFL's rules.
pub fn compare(op: CmpOp, lhs: &Value<'_>, rhs: &Value<'_>) -> bool {
    compare_views(op, View::of(lhs), View::of(rhs))
}

/// Applies `op` to two viewed values with KFL's rules.
pub fn compare_views(op: CmpOp, lhs: View<'_>, rhs: View<'_>) -> bool {
    match (lhs, rhs) {
        (View::Nil, View::Nil) => op == CmpOp::Eq,
        // A field the entry does not have matches nothing (constants are on the right).
        (View::Nil, _) => false,
        _ => match ordering(lhs, rhs) {
            Some(order) => op.holds(order),
            None => op == CmpOp::Ne,
        },
    }
}

/// Whether two values are equal with KFL's rules (`nil` equals only `nil`).
pub fn equal(lhs: &Value<'_>, rhs: &Value<'_>) -> bool {
    compare(CmpOp::Eq, lhs, rhs)
}

/// How two values order, or `None` when they are not comparable (nil, unrelated kinds, text that
/// does not read as a number).
fn ordering(lhs: View<'_>, rhs: View<'_>) -> Option<Ordering> {
    match (lhs, rhs) {
        (View::Int(a), View::Int(b)) => Some(a.cmp(&b)),
        (View::Int(_) | View::Float(_), View::Int(_) | View::Float(_)) => {
            as_f64(lhs)?.partial_cmp(&as_f64(rhs)?)
        }
        (View::Str(a), View::Str(b)) => Some(a.cmp(b)),
        (View::Str(text), View::Int(_) | View::Float(_)) => ordering(parse_number(text)?, rhs),
        (View::Int(_) | View::Float(_), View::Str(text)) => ordering(lhs, parse_number(text)?),
        (View::Time(a), View::Time(b)) | (View::Duration(a), View::Duration(b)) => Some(a.cmp(&b)),
        // A record that hands out a time as plain nanoseconds still compares with `datetime()`.
        (View::Time(a), View::Int(b)) | (View::Int(a), View::Time(b)) => Some(a.cmp(&b)),
        (View::Bool(a), View::Bool(b)) => Some(a.cmp(&b)),
        (View::List(a), View::List(b)) => (a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| equal(x, y)))
        .then_some(Ordering::Equal),
        (View::Json(a), View::Json(b)) => (a == b).then_some(Ordering::Equal),
        _ => None,
    }
}

fn as_f64(view: View<'_>) -> Option<f64> {
    match view {
        View::Int(n) => Some(n as f64),
        View::Float(n) => Some(n),
        _ => None,
    }
}

/// Reads text as a number: an integer when it is one, else a finite float.
pub fn parse_number(text: &str) -> Option<View<'static>> {
    let text = text.trim();
    text.parse::<i64>().map(View::Int).ok().or_else(|| {
        text.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(View::Float)
    })
}

/// Calls `f` with the text of a value: text as is, numbers in decimal (integers formatted without
/// allocating); `None` for anything else.
pub fn with_text<R>(value: &Value<'_>, f: impl FnOnce(&str) -> R) -> Option<R> {
    match View::of(value) {
        View::Str(text) => Some(f(text)),
        View::Int(n) => {
            let mut buffer = [0u8; 20];
            let mut at = buffer.len();
            let mut rest = n.unsigned_abs();
            loop {
                at -= 1;
                if let Some(slot) = buffer.get_mut(at) {
                    *slot = b'0' + (rest % 10) as u8;
                }
                rest /= 10;
                if rest == 0 {
                    break;
                }
            }
            let digits =
                std::str::from_utf8(buffer.get(at..).unwrap_or_default()).unwrap_or_default();
            if n < 0 {
                Some(f(&format!("-{digits}")))
            } else {
                Some(f(digits))
            }
        }
        View::Float(n) => Some(f(&n.to_string())),
        _ => None,
    }
}

/// Whether `list` (a list or a JSON array) has an element equal to `value`, or `list` (a JSON
/// object: a map) has the key `value`, in any letter case (header names).
pub fn contains_element(list: &Value<'_>, value: &Value<'_>) -> bool {
    match View::of(list) {
        View::List(items) => items.iter().any(|item| equal(item, value)),
        View::Json(serde_json::Value::Array(items)) => {
            items.iter().any(|item| equal(&Value::Json(item), value))
        }
        View::Json(serde_json::Value::Object(map)) => match View::of(value) {
            View::Str(key) => map.keys().any(|k| k.eq_ignore_ascii_case(key)),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn s(text: &str) -> Value<'_> {
        Value::Str(Cow::Borrowed(text))
    }

    #[test]
    fn a_missing_value_matches_no_comparison_and_nil_tests_presence() {
        for op in [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ] {
            assert!(!compare(op, &Value::Nil, &Value::Int(1)), "{op:?}");
        }
        assert!(compare(CmpOp::Ne, &Value::Int(1), &Value::Nil));
        assert!(!compare(CmpOp::Eq, &Value::Int(1), &Value::Nil));
        assert!(compare(CmpOp::Eq, &Value::Nil, &Value::Nil));
        assert!(!compare(CmpOp::Ne, &Value::Nil, &Value::Nil));
        assert!(!compare(CmpOp::Le, &Value::Nil, &Value::Nil));
    }

    #[test]
    fn numbers_compare_numerically_across_int_float_and_text() {
        assert!(compare(CmpOp::Eq, &Value::Int(1), &Value::Float(1.0)));
        assert!(compare(CmpOp::Gt, &s("43"), &Value::Int(42)));
        assert!(!compare(CmpOp::Gt, &s("abc"), &Value::Int(42)));
        assert!(compare(CmpOp::Ne, &s("abc"), &Value::Int(42)));
        assert!(!compare(CmpOp::Lt, &s("10"), &Value::Int(9)));
    }

    #[test]
    fn times_compare_with_nanoseconds_handed_out_as_integers() {
        assert!(compare(CmpOp::Lt, &Value::Int(5), &Value::Time(6)));
        assert!(compare(CmpOp::Eq, &Value::Time(6), &Value::Int(6)));
    }

    #[test]
    fn integers_render_as_decimal_text_without_allocating() {
        assert_eq!(
            with_text(&Value::Int(404), str::to_string),
            Some("404".to_string())
        );
        assert_eq!(
            with_text(&Value::Int(-7), str::to_string),
            Some("-7".to_string())
        );
        assert_eq!(
            with_text(&Value::Int(i64::MIN), str::to_string),
            Some(i64::MIN.to_string())
        );
        assert_eq!(with_text(&Value::Nil, str::to_string), None);
    }
}
