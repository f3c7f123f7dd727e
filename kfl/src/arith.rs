//! Arithmetic on run-time values: `+ - * / %` on numbers, `+ -` on times and durations, and
//! durations scaled by whole numbers. A result that does not exist (kinds that do not combine,
//! overflow, division by zero) is `nil`.

use crate::compare::View;
use crate::value::Value;

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (integer division on integers, as in CEL)
    Div,
    /// `%`
    Rem,
}

impl ArithOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Rem => "%",
        }
    }

    fn ints(self, a: i64, b: i64) -> Option<i64> {
        match self {
            ArithOp::Add => a.checked_add(b),
            ArithOp::Sub => a.checked_sub(b),
            ArithOp::Mul => a.checked_mul(b),
            ArithOp::Div => a.checked_div(b),
            ArithOp::Rem => a.checked_rem(b),
        }
    }

    fn floats(self, a: f64, b: f64) -> f64 {
        match self {
            ArithOp::Add => a + b,
            ArithOp::Sub => a - b,
            ArithOp::Mul => a * b,
            ArithOp::Div => a / b,
            ArithOp::Rem => a % b,
        }
    }
}

/// `a op b`; `nil` when the kinds do not combine or there is no result.
pub fn arith(op: ArithOp, lhs: &Value<'_>, rhs: &Value<'_>) -> Value<'static> {
    use ArithOp::{Add, Div, Mul, Sub};
    let int = |a, b, wrap: fn(i64) -> Value<'static>| op.ints(a, b).map_or(Value::Nil, wrap);
    let float = |a: f64, b: f64| {
        let result = op.floats(a, b);
        if result.is_finite() {
            Value::Float(result)
        } else {
            Value::Nil
        }
    };
    match (View::of(lhs), View::of(rhs)) {
        (View::Int(a), View::Int(b)) => int(a, b, Value::Int),
        (View::Int(a), View::Float(b)) => float(a as f64, b),
        (View::Float(a), View::Int(b)) => float(a, b as f64),
        (View::Float(a), View::Float(b)) => float(a, b),
        (View::Time(a), View::Duration(b)) if matches!(op, Add | Sub) => int(a, b, Value::Time),
        (View::Duration(a), View::Time(b)) if op == Add => int(a, b, Value::Time),
        (View::Duration(a), View::Duration(b)) if matches!(op, Add | Sub) => {
            int(a, b, Value::Duration)
        }
        (View::Time(a), View::Time(b)) if op == Sub => int(a, b, Value::Duration),
        (View::Duration(a), View::Int(b)) if matches!(op, Mul | Div) => int(a, b, Value::Duration),
        (View::Int(a), View::Duration(b)) if op == Mul => int(a, b, Value::Duration),
        _ => Value::Nil,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_divide_as_integers_and_zero_divisors_give_nil() {
        assert_eq!(
            arith(ArithOp::Div, &Value::Int(7), &Value::Int(2)),
            Value::Int(3)
        );
        assert_eq!(
            arith(ArithOp::Rem, &Value::Int(7), &Value::Int(2)),
            Value::Int(1)
        );
        assert_eq!(
            arith(ArithOp::Div, &Value::Int(7), &Value::Int(0)),
            Value::Nil
        );
        assert_eq!(
            arith(ArithOp::Div, &Value::Float(1.0), &Value::Int(0)),
            Value::Nil
        );
        assert_eq!(
            arith(ArithOp::Mul, &Value::Float(1.5), &Value::Int(1000)),
            Value::Float(1500.0)
        );
        assert_eq!(
            arith(ArithOp::Sub, &Value::Time(10), &Value::Time(4)),
            Value::Duration(6)
        );
        assert_eq!(
            arith(ArithOp::Mul, &Value::Duration(3), &Value::Int(2)),
            Value::Duration(6)
        );
        assert_eq!(
            arith(ArithOp::Mul, &Value::Time(3), &Value::Int(2)),
            Value::Nil
        );
    }
}
