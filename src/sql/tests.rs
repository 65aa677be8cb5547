use super::*;
use crate::check::Checker;
use crate::plan::{plan, Clock};
use std::sync::Arc;

pub(crate) fn compile_json(dsl: &str, role: &str, dialect: Dialect) -> Vec<Statement> {
    let catalog = Arc::new(Catalog::embedded_default());
    let checker = Checker::new(catalog.clone());
    let checked = checker.check_bytes(dsl.as_bytes(), role).expect("checks");
    let clock = Clock::fixed("2026-11-23".parse().unwrap());
    let p = plan(
        &checked,
        &catalog,
        &WorkspaceId::parse("acme").unwrap(),
        &clock,
    )
    .unwrap();
    compile(&p, &catalog, dialect).unwrap()
}

#[test]
fn print_examples() {
    for d in Dialect::ALL {
        for dsl in [
            r#"{"kind":"metric","metrics":["dau"],"period":{"preset":"last_week"},"compare":"previous_period","group_by":["acquisition_channel"],"filters":[{"dimension":"device","op":"in","values":["ios","android"]}]}"#,
            r#"{"kind":"metric","metrics":["median_resolution_hours","mrr"],"period":{"preset":"last_month"},"granularity":"week"}"#,
            r#"{"kind":"list","entity":"customer","fields":["company_name","mrr","created_at"],"sort":{"field":"mrr","order":"desc"},"filters":[{"field":"company_name","op":"contains","values":["a_b"]}]}"#,
        ] {
            println!(
                "--- {}\n{}",
                d.as_str(),
                render(&compile_json(dsl, "analyst", d))
            );
        }
    }
}
