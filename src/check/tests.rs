use super::*;
use serde_json::json;

fn checker() -> Checker {
    Checker::new(Arc::new(Catalog::embedded_default()))
}

fn invalid_codes(r: Result<CheckedQuery, Rejection>) -> Vec<(String, String)> {
    match r {
        Err(Rejection::Invalid { diagnostics }) => diagnostics
            .iter()
            .map(|d| (d.code.as_str().to_string(), d.pointer.clone()))
            .collect(),
        other => panic!("expected invalid, got {other:?}"),
    }
}

fn refusal(r: Result<CheckedQuery, Rejection>) -> Refusal {
    match r {
        Err(Rejection::Refused { refusal, .. }) => *refusal,
        other => panic!("expected refused, got {other:?}"),
    }
}

#[test]
fn dau_last_week_checks_for_analyst_and_fills_defaults() {
    let q = checker()
        .check_value(
            json!({"kind":"metric","metrics":["DAU"],"period":{"preset":"last_week"},"compare":"previous_period","group_by":["Platform"]}),
            "analyst",
        )
        .unwrap();
    let v = serde_json::to_value(q.query()).unwrap();
    assert_eq!(
        v,
        json!({"kind":"metric","version":1,"metrics":["dau"],"period":{"preset":"last_week"},"compare":"previous_period","group_by":["device"],"top_n":10,"order":"desc"})
    );
    assert_eq!(q.repairs().len(), 2);
}

#[test]
fn unknown_metric_names_the_nearest() {
    let r = checker().check_value(
        json!({"kind":"metric","metrics":["dua"],"period":{"preset":"last_week"}}),
        "analyst",
    );
    let Err(Rejection::Invalid { diagnostics }) = r else {
        panic!()
    };
    assert_eq!(diagnostics[0].code, DiagnosticCode::UnknownMetric);
    assert_eq!(diagnostics[0].pointer, "/metrics/0");
    assert_eq!(diagnostics[0].nearest.as_deref(), Some("dau"));
    assert!(diagnostics[0].allowed.contains(&"mrr".to_string()));
}

#[test]
fn every_problem_is_reported() {
    let r = checker().check_value(
        json!({"kind":"metric","metrics":["dau"],"period":{"between":{"start":"2026-11-10","end":"2026-11-01"}},"top_n":0,"colour":"red"}),
        "analyst",
    );
    let codes = invalid_codes(r);
    assert!(
        codes.contains(&("out_of_range".into(), "/top_n".into())),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("unknown_field".into(), "/colour".into())),
        "{codes:?}"
    );
    let r = checker().check_value(
        json!({"kind":"metric","metrics":["dau"],"period":{"between":{"start":"2026-11-10","end":"2026-11-01"}}}),
        "analyst",
    );
    assert_eq!(
        invalid_codes(r),
        vec![("invalid_period".into(), "/period/between/end".into())]
    );
}

#[test]
fn malformed_and_huge_inputs_are_diagnosed() {
    let c = checker();
    assert_eq!(
        invalid_codes(c.check_bytes(b"{\"kind\":", "analyst"))[0].0,
        "malformed_json"
    );
    let big = vec![b' '; MAX_DSL_BYTES + 1];
    assert_eq!(
        invalid_codes(c.check_bytes(&big, "analyst"))[0].0,
        "too_large"
    );
    assert_eq!(
        invalid_codes(c.check_bytes(b"[1]", "analyst"))[0].0,
        "wrong_type"
    );
    assert_eq!(
        invalid_codes(c.check_bytes(br#"{"kind":"explain","metric":"signups"}"#, "analyst"))[0].0,
        "missing_field"
    );
    assert_eq!(
        invalid_codes(c.check_bytes(
            br#"{"kind":"explain","metric":"signups","period":{"preset":"last_month"},"baseline":"same_weekday_avg_4w"}"#,
            "analyst"
        ))[0]
            .0,
        "invalid_value"
    );
    assert_eq!(
        invalid_codes(c.check_bytes(
            br#"{"kind":"funnel","period":{"preset":"last_week"}}"#,
            "analyst"
        ))[0]
            .0,
        "missing_field"
    );
    assert_eq!(
        invalid_codes(c.check_bytes(
            br#"{"kind":"funnel","funnel":"checkout","steps":["search","order_completed"],"period":{"preset":"last_week"}}"#,
            "analyst"
        ))[0]
            .0,
        "invalid_value"
    );
    assert_eq!(
        invalid_codes(c.check_bytes(
            br#"{"kind":"funnel","steps":["search","search"],"period":{"preset":"last_week"}}"#,
            "analyst"
        ))[0]
            .0,
        "duplicate"
    );
    assert_eq!(
        invalid_codes(c.check_bytes(
            br#"{"kind":"funnel","funnel":"checkout","group_by":["priority"],"period":{"preset":"last_week"}}"#,
            "analyst"
        ))[0]
            .0,
        "dimension_not_applicable"
    );
    let r = c.check_value(
        json!({"kind":"metric","metrics":["dau"],"period":{"preset":"lastweek"}}),
        "analyst",
    );
    let codes = invalid_codes(r);
    assert_eq!(
        codes,
        vec![("invalid_value".into(), "/period/preset".into())]
    );
}

#[test]
fn mrr_is_refused_for_support_agent_with_an_offer_when_one_exists() {
    let r = refusal(checker().check_value(
        json!({"kind":"metric","metrics":["mrr","dau"],"period":{"preset":"last_week"},"compare":"previous_period"}),
        "support_agent",
    ));
    assert_eq!(r.code, RefusalCode::SensitivityNotPermitted);
    assert_eq!(
        serde_json::to_value(r.suggestion.unwrap()).unwrap()["metrics"],
        json!(["dau"])
    );
}

#[test]
fn pii_is_refused_for_every_role_first() {
    let c = checker();
    for role in ["analyst", "support_agent", "executive", "admin"] {
        let r = refusal(c.check_value(
            json!({"kind":"list","entity":"customer","fields":["company_name","contact_email"],"period":{"preset":"last_month"},"time_field":"churned_at"}),
            role,
        ));
        assert_eq!(r.code, RefusalCode::PiiNotPermitted, "{role}");
    }
    let r = refusal(c.check_value(
        json!({"kind":"list","entity":"customer","fields":["contact_email"],"period":{"preset":"last_month"},"time_field":"churned_at"}),
        "analyst",
    ));
    assert_eq!(
        serde_json::to_value(r.suggestion.unwrap()).unwrap(),
        json!({"kind":"metric","version":1,"metrics":["churned_customers"],"period":{"preset":"last_month"}})
    );
}

#[test]
fn company_breakdown_is_refused_for_support_agent() {
    let r = refusal(checker().check_value(
        json!({"kind":"metric","metrics":["tickets_opened"],"period":{"preset":"last_week"},"group_by":["company_name"]}),
        "support_agent",
    ));
    assert_eq!(r.code, RefusalCode::RecordLevelNotPermitted);
    assert_eq!(
        serde_json::to_value(r.suggestion.unwrap()).unwrap()["group_by"],
        serde_json::Value::Null
    );
}

#[test]
fn unreachable_dimension_is_invalid() {
    let codes = invalid_codes(checker().check_value(
        json!({"kind":"metric","metrics":["tickets_opened"],"period":{"preset":"last_week"},"group_by":["device"]}),
        "analyst",
    ));
    assert_eq!(
        codes,
        vec![("dimension_not_applicable".into(), "/group_by/0".into())]
    );
}

#[test]
fn filter_values_are_repaired_or_diagnosed() {
    let q = checker()
        .check_value(
            json!({"kind":"metric","metrics":["signups"],"period":{"preset":"last_week"},"filters":[{"dimension":"country","op":"eq","values":["Germany"]}]}),
            "analyst",
        )
        .unwrap();
    let v = serde_json::to_value(q.query()).unwrap();
    assert_eq!(v["filters"][0]["values"], json!(["DE"]));
    let r = checker().check_value(
        json!({"kind":"metric","metrics":["signups"],"period":{"preset":"last_week"},"filters":[{"dimension":"device","op":"eq","values":["andriod","ios"]}]}),
        "analyst",
    );
    let Err(Rejection::Invalid { diagnostics }) = r else {
        panic!()
    };
    let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, vec!["filter_arity", "unknown_value"]);
    assert_eq!(diagnostics[1].nearest.as_deref(), Some("android"));
}

/// The stable names (`as_str`, from strum) are the wire names (from serde) for every variant:
/// the renames are written once, and a drift fails here.
#[test]
fn stable_names_are_the_serde_names() {
    fn agree<T>()
    where
        T: serde::Serialize + strum::IntoEnumIterator + Copy + Into<&'static str> + std::fmt::Debug,
    {
        for v in T::iter() {
            let name: &'static str = v.into();
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::Value::String(name.to_string()),
                "{v:?}"
            );
        }
    }
    agree::<crate::sql::Dialect>();
    agree::<crate::dsl::Granularity>();
    agree::<crate::dsl::Kind>();
    agree::<crate::dsl::Baseline>();
    agree::<crate::dsl::FilterOp>();
    agree::<crate::pipeline::Outcome>();
    agree::<crate::translate::Mode>();
    agree::<crate::check::RefusalCode>();
    agree::<crate::check::DiagnosticCode>();
    // Catalog names, which the TOML loader parses with the same table.
    for s in <crate::catalog::Sensitivity as strum::IntoEnumIterator>::iter() {
        let name: &'static str = s.into();
        assert_eq!(name.parse::<crate::catalog::Sensitivity>().ok(), Some(s));
    }
}
