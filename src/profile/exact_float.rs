//! Floats that survive any serde format bit for bit.
//!
//! A stored profile must come back equal, so that an update of the loaded
//! profile equals an update of the original. Binary formats (postcard,
//! bincode, …) write floats as raw bits and are exact already. Text formats
//! write a decimal and leave the reading to the parser: `serde_json` without
//! its `float_roundtrip` feature reads long decimals with a fast algorithm
//! that can be off in the last bit (about 4 profiles in 10 came back unequal),
//! and other languages' parsers vary too.
//!
//! So for human-readable formats
//! ([`is_human_readable`](serde::Serializer::is_human_readable)) every float
//! is written as a **string** holding Rust's shortest round-trip decimal of
//! the value in its own type (`"0.1"`, `"1e-300"`, `"3.4028235e38"` for an
//! `f32`), and read back with Rust's correctly rounded `str::parse`: exactly
//! the value written, whichever JSON parser split the document. Reading also
//! accepts a plain number (a hand-written configuration, say), which is then
//! as exact as the parser that read it. Binary formats get the raw float.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::scalar::Scalar;

/// The shortest decimal that parses back to `v` in `F`'s precision.
fn to_text<F: Scalar>(v: F) -> String {
    // `Debug` of a float is its shortest round-trip decimal (with an exponent
    // for very small or large magnitudes)
    format!("{v:?}")
}

/// Reads a float written by [`to_text`] (or any decimal), correctly rounded.
fn from_text<F: Scalar, E: de::Error>(s: &str) -> Result<F, E> {
    // num-traits' radix-10 parse is the standard library's `str::parse`
    F::from_str_radix(s, 10)
        .map_err(|_| E::invalid_value(de::Unexpected::Str(s), &"a decimal float"))
}

/// A float of type `F` in a human-readable document: a string, or a number.
struct TextVisitor<F>(PhantomData<F>);

impl<F: Scalar> Visitor<'_> for TextVisitor<F> {
    type Value = F;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a float as a decimal string or a number")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<F, E> {
        from_text(s)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<F, E> {
        Ok(F::from_f64_rounded(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<F, E> {
        Ok(F::from_f64_rounded(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<F, E> {
        Ok(F::from_f64_rounded(v as f64))
    }
}

/// One exact float, as a newtype for sequences and options.
struct Exact<F>(F);

impl<F: Scalar + Serialize> Serialize for Exact<F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&to_text(self.0))
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de, F: Scalar + Deserialize<'de>> Deserialize<'de> for Exact<F> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            d.deserialize_any(TextVisitor(PhantomData)).map(Exact)
        } else {
            F::deserialize(d).map(Exact)
        }
    }
}

/// `#[serde(with = "exact_float::scalar")]` for one `f32`/`f64` field.
pub(crate) mod scalar {
    use super::*;

    pub(crate) fn serialize<F: Scalar + Serialize, S: Serializer>(
        v: &F,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        Exact(*v).serialize(s)
    }

    pub(crate) fn deserialize<'de, F: Scalar + Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<F, D::Error> {
        Exact::deserialize(d).map(|e| e.0)
    }
}

/// `#[serde(with = "exact_float::option")]` for an `Option<f64>` field.
pub(crate) mod option {
    use super::*;

    pub(crate) fn serialize<F: Scalar + Serialize, S: Serializer>(
        v: &Option<F>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        v.map(Exact).serialize(s)
    }

    pub(crate) fn deserialize<'de, F: Scalar + Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<F>, D::Error> {
        Option::<Exact<F>>::deserialize(d).map(|o| o.map(|e| e.0))
    }
}

/// `#[serde(with = "exact_float::vec")]` for a `Vec<F>` field (embeddings).
pub(crate) mod vec {
    use super::*;

    pub(crate) fn serialize<F: Scalar + Serialize, S: Serializer>(
        v: &[F],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for &x in v {
            seq.serialize_element(&Exact(x))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, F: Scalar + Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<F>, D::Error> {
        struct SeqVisitor<F>(PhantomData<F>);
        impl<'de, F: Scalar + Deserialize<'de>> Visitor<'de> for SeqVisitor<F> {
            type Value = Vec<F>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of floats")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<F>, A::Error> {
                // a hostile length hint must not allocate: cap it
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(Exact(x)) = seq.next_element::<Exact<F>>()? {
                    out.push(x);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(SeqVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Probe {
        #[serde(with = "scalar")]
        a: f64,
        #[serde(with = "scalar")]
        b: f32,
        #[serde(with = "option")]
        c: Option<f64>,
        #[serde(with = "vec")]
        v: Vec<f32>,
    }

    #[test]
    fn floats_are_decimal_strings_that_parse_back_exactly() {
        let p = Probe {
            a: 0.1 + 0.2,
            b: 0.1,
            c: Some(1e-300),
            v: vec![f32::MAX, f32::MIN_POSITIVE, -0.0, 1.0 / 3.0],
        };
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["a"], "0.30000000000000004");
        assert_eq!(json["b"], "0.1");
        assert_eq!(json["c"], "1e-300");
        assert_eq!(json["v"][0], "3.4028235e38");
        let back: Probe = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
        assert!(back.v[2].is_sign_negative());
    }

    #[test]
    fn plain_numbers_and_null_are_accepted() {
        let back: Probe =
            serde_json::from_str(r#"{"a": 0.5, "b": 2, "c": null, "v": [1, -1.5]}"#).unwrap();
        assert_eq!(
            back,
            Probe {
                a: 0.5,
                b: 2.0,
                c: None,
                v: vec![1.0, -1.5]
            }
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(
            serde_json::from_str::<Probe>(r#"{"a": "x", "b": 2, "c": null, "v": []}"#).is_err()
        );
    }
}
