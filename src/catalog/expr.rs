//! Expressions of derived metrics: numbers, metric names, `+ - * /` and parentheses.
//! Evaluation divides with a zero guard: x / 0 is `None`, never an error or infinity.

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(f64),
    Metric(String),
    Neg(Box<Expr>),
    Binary(Box<Expr>, Op, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Expr {
    pub fn parse(text: &str) -> Result<Expr, String> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, pos: 0 };
        let expr = parser.sum()?;
        match parser.tokens.get(parser.pos) {
            None => Ok(expr),
            Some(t) => Err(format!("unexpected `{t:?}` after the expression")),
        }
    }

    /// The expression as text, each metric said by `name` (its catalog name, or its label),
    /// parenthesised only where precedence needs it: `mrr / active_customers`.
    pub fn render(&self, name: &dyn Fn(&str) -> String) -> String {
        fn level(op: Op) -> u8 {
            match op {
                Op::Add | Op::Sub => 1,
                Op::Mul | Op::Div => 2,
            }
        }
        fn go(e: &Expr, name: &dyn Fn(&str) -> String, parent: u8, right: bool) -> String {
            match e {
                Expr::Number(n) => format!("{n}"),
                Expr::Metric(m) => name(m),
                Expr::Neg(inner) => format!("-{}", go(inner, name, 3, false)),
                Expr::Binary(a, op, b) => {
                    let l = level(*op);
                    let sym = match op {
                        Op::Add => "+",
                        Op::Sub => "-",
                        Op::Mul => "×",
                        Op::Div => "/",
                    };
                    let text = format!("{} {sym} {}", go(a, name, l, false), go(b, name, l, true));
                    if l < parent || (l == parent && right) {
                        format!("({text})")
                    } else {
                        text
                    }
                }
            }
        }
        go(self, name, 0, false)
    }

    /// Metric names in order of first appearance.
    pub fn metrics(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Number(_) => {}
            Expr::Metric(m) => {
                if !out.contains(&m.as_str()) {
                    out.push(m)
                }
            }
            Expr::Neg(e) => e.collect(out),
            Expr::Binary(a, _, b) => {
                a.collect(out);
                b.collect(out);
            }
        }
    }

    /// Evaluates with `value` giving each metric; `None` propagates, division by zero is `None`.
    pub fn eval(&self, value: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
        match self {
            Expr::Number(n) => Some(*n),
            Expr::Metric(m) => value(m),
            Expr::Neg(e) => e.eval(value).map(|v| -v),
            Expr::Binary(a, op, b) => {
                let (a, b) = (a.eval(value)?, b.eval(value)?);
                match op {
                    Op::Add => Some(a + b),
                    Op::Sub => Some(a - b),
                    Op::Mul => Some(a * b),
                    Op::Div => (b != 0.0).then(|| a / b),
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Ident(String),
    Op(char),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            tokens.push(Token::Number(
                s.parse().map_err(|_| format!("bad number `{s}`"))?,
            ));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else if "+-*/".contains(c) {
            tokens.push(Token::Op(c));
            i += 1;
        } else if c == '(' {
            tokens.push(Token::Open);
            i += 1;
        } else if c == ')' {
            tokens.push(Token::Close);
            i += 1;
        } else {
            return Err(format!("unexpected character `{c}`"));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek_op(&self, ops: &str) -> Option<char> {
        match self.tokens.get(self.pos) {
            Some(Token::Op(c)) if ops.contains(*c) => Some(*c),
            _ => None,
        }
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut left = self.product()?;
        while let Some(c) = self.peek_op("+-") {
            self.pos += 1;
            let right = self.product()?;
            let op = if c == '+' { Op::Add } else { Op::Sub };
            left = Expr::Binary(Box::new(left), op, Box::new(right));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while let Some(c) = self.peek_op("*/") {
            self.pos += 1;
            let right = self.unary()?;
            let op = if c == '*' { Op::Mul } else { Op::Div };
            left = Expr::Binary(Box::new(left), op, Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_op("-").is_some() {
            self.pos += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        match token {
            Some(Token::Number(n)) => Ok(Expr::Number(n)),
            Some(Token::Ident(name)) => Ok(Expr::Metric(name)),
            Some(Token::Open) => {
                let inner = self.sum()?;
                match self.tokens.get(self.pos) {
                    Some(Token::Close) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err("missing `)`".into()),
                }
            }
            Some(t) => Err(format!("unexpected `{t:?}`")),
            None => Err("the expression ends too early".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_precedence_and_guards_division() {
        let e = Expr::parse("(a + b) * 2 / c - -1").unwrap();
        assert_eq!(e.metrics(), vec!["a", "b", "c"]);
        let v = |m: &str| match m {
            "a" => Some(1.0),
            "b" => Some(3.0),
            "c" => Some(4.0),
            _ => None,
        };
        assert_eq!(e.eval(&v), Some(3.0));
        let zero = |m: &str| if m == "c" { Some(0.0) } else { Some(1.0) };
        assert_eq!(e.eval(&zero), None);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Expr::parse("a +").is_err());
        assert!(Expr::parse("a ; drop").is_err());
        assert!(Expr::parse("(a").is_err());
    }
}
