//! The Adnavi demo warehouse: three workspaces advertising on Google, Meta and TikTok, each with
//! campaigns, their ad sets and ads (`entities`), and one row of delivery and results per
//! campaign per day (`metric_facts`) over 455 days ending at the end date. Every value list here
//! mirrors `catalog.toml`.
//!
//! Compiled into the library as `crate::examples::adnavi_gen` (see `src/examples.rs`).
//!
//! Invariants the catalog relies on: `entity_id` is unique across workspaces (facts carry no
//! workspace, so a fact reaches its workspace only through its entity); facts exist only for
//! campaigns and only between a campaign's start and its pause; everything under a paused
//! campaign or ad set is paused too; money is whole dollars, and clicks never exceed
//! impressions nor conversions clicks.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};

use crate::demo::rng::Rng;
use crate::demo::{Cell, ColumnDef, ColumnType, DemoError, DemoOptions, RowSink, TableDef};

/// The history covers `end_date - HISTORY_DAYS + 1 ..= end_date`: about fifteen months, so
/// "this quarter vs last quarter" and year-over-year comparisons of recent months have data.
const HISTORY_DAYS: u32 = 455;

// The catalog's value lists, in the catalog's order.
const PROVIDERS: [&str; 3] = ["google", "meta", "tiktok"];
const GOOGLE: usize = 0;
const META: usize = 1;
const TIKTOK: usize = 2;
const ACTIVE: &str = "active";
const PAUSED: &str = "paused";

const LEVEL_CAMPAIGN: &str = "campaign";
const LEVEL_ADSET: &str = "adset";
const LEVEL_AD: &str = "ad";

/// Separate random streams, so that changing how one table is generated never changes another.
const STREAM_STRUCTURE: u64 = 1;
const STREAM_FACTS: u64 = 2;

/// How a network prices and performs at baseline: cost per thousand impressions (USD),
/// click-through rate, conversion rate per click, and average order value (USD).
struct Network {
    cpm: f64,
    ctr: f64,
    cvr: f64,
    order_value: f64,
}

const NETWORKS: [Network; 3] = [
    Network {
        cpm: 45.0,
        ctr: 0.034,
        cvr: 0.045,
        order_value: 92.0,
    },
    Network {
        cpm: 10.0,
        ctr: 0.012,
        cvr: 0.028,
        order_value: 74.0,
    },
    Network {
        cpm: 6.5,
        ctr: 0.009,
        cvr: 0.016,
        order_value: 58.0,
    },
];

/// One campaign template. Days are counted back from the end date (0 is the end date itself).
struct CampaignPlan {
    name: &'static str,
    provider: usize,
    /// Mean spend per day (USD) at scale 1.
    daily_budget: f64,
    /// Multiplies the network's click-through and conversion rates.
    quality: f64,
    /// The conversion rate's relative change from the first day of the history to the last, so
    /// campaigns improve or decay between quarters.
    drift: f64,
    /// The first day with delivery, in days before the end date (`None`: the whole history).
    starts_days_ago: Option<u32>,
    /// The last day with delivery before the campaign was paused, in days before the end date
    /// (`None`: still active).
    paused_days_ago: Option<u32>,
}

struct Workspace {
    id: &'static str,
    campaigns: &'static [CampaignPlan],
}

const fn plan(
    name: &'static str,
    provider: usize,
    daily_budget: f64,
    quality: f64,
    drift: f64,
) -> CampaignPlan {
    CampaignPlan {
        name,
        provider,
        daily_budget,
        quality,
        drift,
        starts_days_ago: None,
        paused_days_ago: None,
    }
}

const fn starting(mut campaign: CampaignPlan, days_ago: u32) -> CampaignPlan {
    campaign.starts_days_ago = Some(days_ago);
    campaign
}

const fn paused(mut campaign: CampaignPlan, days_ago: u32) -> CampaignPlan {
    campaign.paused_days_ago = Some(days_ago);
    campaign
}

const WORKSPACES: [Workspace; 3] = [
    // The largest account: all three networks, two paused campaigns and two seasonal launches.
    Workspace {
        id: "acme",
        campaigns: &[
            plan("Brand Search", GOOGLE, 420.0, 1.6, 0.05),
            plan("Generic Search", GOOGLE, 610.0, 0.9, -0.25),
            plan("Shopping Feed", GOOGLE, 540.0, 1.1, 0.20),
            paused(plan("YouTube Awareness", GOOGLE, 380.0, 0.5, 0.0), 12),
            plan("Prospecting Lookalikes", META, 700.0, 0.9, 0.10),
            plan("Retargeting", META, 260.0, 1.8, -0.10),
            plan("Advantage+ Shopping", META, 520.0, 1.2, 0.35),
            paused(plan("Reels Video", META, 300.0, 0.7, -0.20), 160),
            starting(plan("Spark Ads", TIKTOK, 350.0, 1.0, 0.30), 300),
            paused(
                starting(plan("TopView Launch", TIKTOK, 900.0, 0.6, 0.0), 240),
                210,
            ),
            starting(plan("Black Friday Promo", META, 800.0, 1.3, 0.0), 30),
            starting(plan("Holiday Gift Guide", GOOGLE, 450.0, 1.2, 0.0), 20),
        ],
    },
    // A mid-sized account on Google and Meta; some campaign names repeat acme's.
    Workspace {
        id: "globex",
        campaigns: &[
            plan("Brand Search", GOOGLE, 180.0, 1.5, 0.0),
            plan("Performance Max", GOOGLE, 390.0, 1.0, 0.15),
            paused(plan("Display Remarketing", GOOGLE, 120.0, 0.8, -0.15), 20),
            plan("Retargeting", META, 150.0, 1.7, 0.05),
            plan("Lead Gen Forms", META, 230.0, 0.9, -0.05),
            starting(plan("Winter Sale", META, 260.0, 1.1, 0.0), 50),
        ],
    },
    // Tiny: one campaign per network; the TikTok test never converts, so its CPA has no value.
    Workspace {
        id: "initech",
        campaigns: &[
            plan("Brand Search", GOOGLE, 45.0, 1.4, 0.0),
            paused(plan("Local Awareness", META, 30.0, 0.8, 0.0), 75),
            starting(plan("TikTok Test", TIKTOK, 25.0, 0.0, 0.0), 40),
        ],
    },
];

/// Ad sets per campaign and ads per ad set (the structure has no facts of its own).
const ADSETS: [&str; 3] = ["Broad", "Interests", "Lookalike"];
const ADS: [&str; 3] = ["Static", "Carousel", "Video"];

/// Rows of each table of [`tables`] at scale 1 (seed 42, data to 2026-11-22): the estimate
/// for other options scales them, which is close for every table (all of them grow with the
/// scale) and only meant for a progress display.
const ROWS_AT_SCALE_ONE: [f64; 2] = [273.0, 7_034.0];

pub(crate) fn estimated_rows(opts: &DemoOptions) -> Vec<u64> {
    ROWS_AT_SCALE_ONE
        .iter()
        .map(|rows| (rows * opts.scale).round() as u64)
        .collect()
}

/// The workspaces the generator writes, as `WORKSPACES` declares them.
pub(crate) fn workspaces() -> Vec<&'static str> {
    WORKSPACES.iter().map(|workspace| workspace.id).collect()
}

pub(crate) fn tables() -> Vec<TableDef> {
    let column = |name, ty| ColumnDef {
        name,
        ty,
        nullable: false,
    };
    use ColumnType::{BigInt, Text, Timestamp};
    vec![
        TableDef {
            name: "entities",
            columns: vec![
                column("entity_id", BigInt),
                column("workspace_id", Text),
                column("name", Text),
                column("level", Text),
                ColumnDef {
                    name: "parent_id",
                    ty: BigInt,
                    nullable: true,
                },
                column("provider", Text),
                column("status", Text),
            ],
            // Unique across workspaces: facts reach their workspace through this key alone.
            primary_key: vec!["entity_id"],
            indexes: vec![vec!["workspace_id", "entity_id"]],
        },
        TableDef {
            name: "metric_facts",
            columns: vec![
                column("entity_id", BigInt),
                // Midnight of the day the row covers (UTC); the period filters this column.
                column("event_date", Timestamp),
                column("spend", BigInt),
                column("revenue", BigInt),
                column("clicks", BigInt),
                column("impressions", BigInt),
                column("conversions", BigInt),
            ],
            primary_key: vec!["entity_id", "event_date"],
            indexes: vec![vec!["event_date"]],
        },
    ]
}

/// One campaign as generated: its template, its id and the days it delivers.
struct Campaign {
    workspace: usize,
    /// Index into the workspace's templates.
    template: usize,
    /// The copy number when `scale` asks for more campaigns than templates (1 for the first).
    copy: u32,
    id: i64,
    /// Day indexes (0 = the first day of the history), inclusive.
    first_day: u32,
    last_day: u32,
    paused: bool,
}

impl Campaign {
    fn plan(&self) -> &'static CampaignPlan {
        &WORKSPACES[self.workspace].campaigns[self.template]
    }

    fn name(&self) -> String {
        match self.copy {
            1 => self.plan().name.to_owned(),
            n => format!("{} {n}", self.plan().name),
        }
    }
}

/// Writes `entities` then `metric_facts` for every workspace.
pub(crate) fn generate(opts: &DemoOptions, sink: &mut dyn RowSink) -> Result<(), DemoError> {
    opts.validate()?;
    let defs = tables();
    let campaigns = campaigns(opts);

    sink.begin_table(&defs[0])?;
    write_entities(opts, &campaigns, sink)?;
    sink.end_table()?;

    sink.begin_table(&defs[1])?;
    let first_day = opts.end_date - Duration::days(i64::from(HISTORY_DAYS - 1));
    for campaign in &campaigns {
        write_facts(opts, first_day, campaign, sink)?;
    }
    sink.end_table()
}

/// The campaigns of every workspace. `scale` sets how many: at scale 1 one per template, below
/// 1 the first templates only (at least one per workspace), above 1 numbered copies.
fn campaigns(opts: &DemoOptions) -> Vec<Campaign> {
    let mut out = Vec::new();
    let mut next_id = 1i64;
    for (workspace_index, workspace) in WORKSPACES.iter().enumerate() {
        let templates = workspace.campaigns.len();
        let count = ((templates as f64 * opts.scale).round() as usize).max(1);
        for n in 0..count {
            let template = n % templates;
            let plan = &workspace.campaigns[template];
            let first_day = plan
                .starts_days_ago
                .map_or(0, |ago| HISTORY_DAYS - 1 - ago.min(HISTORY_DAYS - 1));
            let last_day = plan
                .paused_days_ago
                .map_or(HISTORY_DAYS - 1, |ago| HISTORY_DAYS - 1 - ago);
            out.push(Campaign {
                workspace: workspace_index,
                template,
                copy: (n / templates) as u32 + 1,
                id: next_id,
                first_day,
                last_day,
                paused: plan.paused_days_ago.is_some(),
            });
            // Room for the campaign's ad sets and ads, so ids follow the structure.
            next_id += 1 + (ADSETS.len() * (1 + ADS.len())) as i64;
        }
    }
    out
}

/// Each campaign, then each of its ad sets followed by that ad set's ads; ids ascend.
fn write_entities(
    opts: &DemoOptions,
    campaigns: &[Campaign],
    sink: &mut dyn RowSink,
) -> Result<(), DemoError> {
    for campaign in campaigns {
        let workspace = WORKSPACES[campaign.workspace].id;
        let provider = PROVIDERS[campaign.plan().provider];
        let mut rng = Rng::derive(
            opts.seed,
            &[
                campaign.workspace as u64,
                STREAM_STRUCTURE,
                campaign.id as u64,
            ],
        );
        let campaign_status = if campaign.paused { PAUSED } else { ACTIVE };
        let name = campaign.name();
        sink.row(vec![
            Cell::Int(campaign.id),
            Cell::Text(workspace.to_owned()),
            Cell::Text(name.clone()),
            Cell::Text(LEVEL_CAMPAIGN.to_owned()),
            Cell::Null,
            Cell::Text(provider.to_owned()),
            Cell::Text(campaign_status.to_owned()),
        ])?;
        let mut id = campaign.id;
        for adset in ADSETS {
            id += 1;
            let adset_id = id;
            // Inside an active campaign, an ad set or ad is now and then paused on its own; what
            // is under a paused campaign or ad set is paused too.
            let status = |rng: &mut Rng, parent: &str| {
                if parent == PAUSED || rng.bernoulli(0.15) {
                    PAUSED
                } else {
                    ACTIVE
                }
            };
            let adset_status = status(&mut rng, campaign_status);
            sink.row(vec![
                Cell::Int(adset_id),
                Cell::Text(workspace.to_owned()),
                Cell::Text(format!("{name} / {adset}")),
                Cell::Text(LEVEL_ADSET.to_owned()),
                Cell::Int(campaign.id),
                Cell::Text(provider.to_owned()),
                Cell::Text(adset_status.to_owned()),
            ])?;
            for ad in ADS {
                id += 1;
                sink.row(vec![
                    Cell::Int(id),
                    Cell::Text(workspace.to_owned()),
                    Cell::Text(format!("{name} / {adset} / {ad}")),
                    Cell::Text(LEVEL_AD.to_owned()),
                    Cell::Int(adset_id),
                    Cell::Text(provider.to_owned()),
                    Cell::Text(status(&mut rng, adset_status).to_owned()),
                ])?;
            }
        }
    }
    Ok(())
}

/// One row per day the campaign delivered: spend from its budget with weekly and seasonal
/// patterns, impressions from the network's CPM, clicks and conversions drawn from their rates,
/// revenue from the conversions' order values.
fn write_facts(
    opts: &DemoOptions,
    first_day: NaiveDate,
    campaign: &Campaign,
    sink: &mut dyn RowSink,
) -> Result<(), DemoError> {
    let plan = campaign.plan();
    let network = &NETWORKS[plan.provider];
    for day_index in campaign.first_day..=campaign.last_day {
        let day = first_day + Duration::days(i64::from(day_index));
        let mut rng = Rng::derive(
            opts.seed,
            &[
                campaign.workspace as u64,
                STREAM_FACTS,
                campaign.id as u64,
                u64::from(day_index),
            ],
        );
        let progress = f64::from(day_index) / f64::from(HISTORY_DAYS - 1);
        let noise = (1.0 + 0.12 * rng.normalish()).clamp(0.6, 1.4);
        let spend = (plan.daily_budget
            * weekday_factor(plan.provider, day.weekday())
            * season_factor(day)
            * noise)
            .round()
            .max(0.0) as u64;
        let cpm = network.cpm * season_factor(day) * (1.0 + 0.08 * rng.normalish()).max(0.5);
        let impressions = rng.stochastic_round(spend as f64 / cpm * 1000.0);
        let ctr =
            network.ctr * plan.quality.max(0.3).sqrt() * (1.0 + 0.10 * rng.normalish()).max(0.3);
        let clicks = rng.poisson(impressions as f64 * ctr).min(impressions);
        let cvr = network.cvr * plan.quality * (1.0 + plan.drift * (progress - 0.5) * 2.0);
        let conversions = rng.poisson(clicks as f64 * cvr.max(0.0)).min(clicks);
        let revenue: f64 = (0..conversions)
            .map(|_| network.order_value * rng.uniform(0.4, 1.8))
            .sum();
        sink.row(vec![
            Cell::Int(campaign.id),
            Cell::Timestamp(day.and_time(NaiveTime::MIN)),
            Cell::Int(spend as i64),
            Cell::Int(revenue.round() as i64),
            Cell::Int(clicks as i64),
            Cell::Int(impressions as i64),
            Cell::Int(conversions as i64),
        ])?;
    }
    Ok(())
}

/// Search spends evenly through the week; social networks lean into the weekend.
fn weekday_factor(provider: usize, weekday: Weekday) -> f64 {
    let weekend = matches!(weekday, Weekday::Sat | Weekday::Sun);
    match (provider, weekend) {
        (GOOGLE, true) => 0.85,
        (GOOGLE, false) => 1.05,
        (META | TIKTOK, true) => 1.20,
        _ => 0.95,
    }
}

/// Budgets and prices rise through November and December.
fn season_factor(day: NaiveDate) -> f64 {
    match day.month() {
        11 => 1.0 + 0.4 * f64::from(day.day()) / 30.0,
        12 => 1.3,
        1 => 0.85,
        _ => 1.0,
    }
}
