//! `gatehouse user claims …` and `gatehouse group claims …`: the custom claims of a user or a
//! group from the command line.

use anyhow::bail;
use clap::Args;

use crate::admin::Admin;
use crate::model::{ClaimOwner, ClaimsChange, CustomClaims};

/// Which claims to set and remove; with neither, the claims are shown.
#[derive(Debug, Args)]
pub struct ClaimArgs {
    /// Set a claim: NAME=VALUE, the value read as JSON when it is JSON (a number, true, false,
    /// an array, an object, a quoted string) and as text otherwise; may be repeated
    #[arg(long, value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Remove a claim; may be repeated
    #[arg(long, value_name = "NAME")]
    unset: Vec<String>,
}

/// Sets and removes what `args` names, or shows the claims; prints them as they are then, as
/// JSON.
pub(super) async fn claims(
    admin: &Admin<'_>,
    owner: ClaimOwner,
    args: ClaimArgs,
) -> anyhow::Result<()> {
    let claims = if args.set.is_empty() && args.unset.is_empty() {
        admin.custom_claims(&owner).await?
    } else {
        let set = args
            .set
            .iter()
            .map(|pair| parse(pair))
            .collect::<anyhow::Result<CustomClaims>>()?;
        let change = ClaimsChange::Patch {
            set,
            unset: args.unset,
        };
        admin.change_custom_claims(&owner, change).await?
    };
    println!("{}", serde_json::to_string_pretty(&claims)?);
    Ok(())
}

/// `NAME=VALUE`, the value as JSON when it is JSON, else as text.
fn parse(pair: &str) -> anyhow::Result<(String, serde_json::Value)> {
    let Some((name, value)) = pair.split_once('=') else {
        bail!("--set takes NAME=VALUE, not {pair:?}");
    };
    let value = serde_json::from_str(value).unwrap_or_else(|_| value.into());
    if serde_json::Value::is_null(&value) {
        bail!("claim {name:?}: null is no value; use --unset {name}");
    }
    Ok((name.to_owned(), value))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_value_is_json_when_it_is_json_and_text_otherwise() {
        let cases = [
            ("dept=ops", json!("ops")),
            ("level=3", json!(3)),
            ("admin=true", json!(true)),
            ("zip=01234", json!("01234")),
            (r#"roles=["a","b"]"#, json!(["a", "b"])),
            (r#"quoted="3""#, json!("3")),
            (
                "url=https://x.example/?a=b",
                json!("https://x.example/?a=b"),
            ),
            ("empty=", json!("")),
        ];
        for (pair, value) in cases {
            let (_, parsed) = parse(pair).unwrap();
            assert_eq!(parsed, value, "{pair}");
        }
        assert!(parse("no-equals").is_err());
        assert!(parse("gone=null").is_err());
    }
}
