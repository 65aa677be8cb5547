//! The Metrica demo warehouse: three workspaces of product analytics (users, sessions, events)
//! and B2B accounts (customers, support tickets), with weekly seasonality, growth, churn, a
//! checkout funnel and one planted anomaly. Every value list here mirrors `catalog.toml`.
//!
//! Compiled into the library as `crate::examples::metrica_gen` (see `src/examples.rs`).
//!
//! Volume and memory: users and customers are held in memory; sessions and events are simulated
//! one day at a time and streamed, so a large `scale` costs time, not memory. Sessions and events
//! are written in two passes over the same deterministic simulation (the sink takes one table at
//! a time), each user drawing from its own random stream so both passes see identical days.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use crate::demo::rng::Rng;
use crate::demo::{Cell, ColumnDef, ColumnType, DemoError, DemoOptions, RowSink, TableDef};

/// The history covers `end_date - HISTORY_DAYS + 1 ..= end_date`: 455 days, so "last year" and
/// year-over-year comparisons of recent months have data.
const HISTORY_DAYS: u32 = 455;

// The catalog's value lists, in the catalog's order. Indexes into these are stored as u8.
const COUNTRIES: [&str; 8] = ["US", "DE", "GB", "FR", "IN", "BR", "JP", "CA"];
const DEVICES: [&str; 3] = ["ios", "android", "web"];
const CHANNELS: [&str; 5] = ["organic", "paid_search", "paid_social", "referral", "email"];
const EVENT_NAMES: [&str; 6] = [
    "page_view",
    "feature_used",
    "search",
    "checkout_started",
    "payment_submitted",
    "order_completed",
];
const PLAN_TIERS: [&str; 4] = ["free", "starter", "pro", "enterprise"];
const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
const CATEGORIES: [&str; 5] = ["billing", "bug", "how_to", "account", "feature_request"];

const ANDROID: usize = 1;
const PAID_SOCIAL: usize = 2;

const PAGE_VIEW: u8 = 0;
const CHECKOUT_STARTED: u8 = 3;
const PAYMENT_SUBMITTED: u8 = 4;
const ORDER_COMPLETED: u8 = 5;

/// Separate random streams, so that changing how one table is generated never changes another.
const STREAM_SIGNUPS: u64 = 1;
const STREAM_ACTIVITY: u64 = 2;
const STREAM_CUSTOMERS: u64 = 3;
const STREAM_TICKETS: u64 = 4;

/// How one workspace differs from the others. Volumes are at scale 1.
struct Workspace {
    id: &'static str,
    /// Expected signups on an average weekday at the start of the history; grows by
    /// `SIGNUP_GROWTH` over the history.
    signups_per_weekday: f64,
    device_weights: [f64; 3],
    /// Acquisition channel weights for each device (ios, android, web).
    channel_weights: [[f64; 5]; 3],
    country_weights: [f64; 8],
    /// Hour (UTC) at which activity peaks.
    peak_hour: u32,
    /// Customers created over the whole history.
    customers: f64,
    plan_weights: [f64; 4],
    /// Whether this workspace carries the planted signup drop.
    planted_anomaly: bool,
}

const WORKSPACES: [Workspace; 3] = [
    // The largest workspace: mobile-heavy, US/India/Brazil, big Android paid-social campaigns
    // (android + paid_social is about 29% of its signups, which is what makes the planted drop
    // visible in the day's total).
    Workspace {
        id: "acme",
        signups_per_weekday: 68.0,
        device_weights: [0.33, 0.45, 0.22],
        channel_weights: [
            [0.34, 0.20, 0.22, 0.14, 0.10],
            [0.15, 0.08, 0.65, 0.07, 0.05],
            [0.40, 0.30, 0.08, 0.12, 0.10],
        ],
        country_weights: [0.36, 0.07, 0.09, 0.05, 0.14, 0.12, 0.07, 0.10],
        peak_hour: 17,
        customers: 200.0,
        plan_weights: [0.40, 0.30, 0.22, 0.08],
        planted_anomaly: true,
    },
    // About 45% of acme, European and web-first, acquired mostly organically.
    Workspace {
        id: "globex",
        signups_per_weekday: 31.0,
        device_weights: [0.25, 0.18, 0.57],
        channel_weights: [
            [0.40, 0.18, 0.10, 0.20, 0.12],
            [0.35, 0.15, 0.20, 0.18, 0.12],
            [0.38, 0.25, 0.05, 0.20, 0.12],
        ],
        country_weights: [0.12, 0.30, 0.18, 0.20, 0.04, 0.03, 0.05, 0.08],
        peak_hour: 12,
        customers: 90.0,
        plan_weights: [0.30, 0.35, 0.27, 0.08],
        planted_anomaly: false,
    },
    // Tiny: a handful of signups a day and a dozen customers, for small-group suppression.
    Workspace {
        id: "initech",
        signups_per_weekday: 5.0,
        device_weights: [0.30, 0.20, 0.50],
        channel_weights: [
            [0.50, 0.10, 0.05, 0.30, 0.05],
            [0.50, 0.10, 0.05, 0.30, 0.05],
            [0.50, 0.10, 0.05, 0.30, 0.05],
        ],
        country_weights: [0.55, 0.05, 0.10, 0.05, 0.0, 0.0, 0.0, 0.25],
        peak_hour: 18,
        customers: 12.0,
        plan_weights: [0.25, 0.50, 0.20, 0.05],
        planted_anomaly: false,
    },
];

/// Signups on the last day of the history relative to the first.
const SIGNUP_GROWTH: f64 = 0.35;
/// Share of the planted segment's signups that still happen on the anomaly day.
const ANOMALY_KEPT_SHARE: f64 = 0.15;

/// The day of the planted anomaly: the Tuesday of the week before the one holding the day after
/// `end_date` — "Tuesday last week" for someone asking the day after the data ends (for an end
/// date of 2026-11-22, a Sunday, that is 2026-11-17). On that day, in workspace `acme`, about
/// 85% of the signups of users with device `android` and acquisition channel `paid_social` do
/// not happen (those users are never created); every other segment and day is normal. It lies
/// inside "last week" questions asked on the day after `end_date`, on every weekday.
pub(crate) fn planted_anomaly_day(end_date: NaiveDate) -> NaiveDate {
    let today = end_date + Duration::days(1);
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    monday - Duration::days(6)
}

/// Rows of each table of [`tables`] at scale 1 (seed 42, data to 2026-11-22): the estimate
/// for other options scales them, which is close for every table (all of them grow with the
/// scale) and only meant for a progress display.
const ROWS_AT_SCALE_ONE: [f64; 5] = [50_797.0, 161_070.0, 557_396.0, 302.0, 805.0];

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
    let nullable = |name, ty| ColumnDef {
        name,
        ty,
        nullable: true,
    };
    use ColumnType::{BigInt, Text, Timestamp};
    vec![
        TableDef {
            name: "user_profiles",
            columns: vec![
                column("workspace_id", Text),
                column("user_id", BigInt),
                column("signup_at", Timestamp),
                column("country", Text),
                column("device", Text),
                column("acquisition_channel", Text),
                column("email", Text),
            ],
            primary_key: vec!["workspace_id", "user_id"],
            indexes: vec![vec!["workspace_id", "signup_at"]],
        },
        TableDef {
            name: "sessions",
            columns: vec![
                column("workspace_id", Text),
                column("session_id", BigInt),
                column("user_id", BigInt),
                column("start_time", Timestamp),
                column("end_time", Timestamp),
                column("device", Text),
                column("country", Text),
            ],
            primary_key: vec!["workspace_id", "session_id"],
            indexes: vec![vec!["workspace_id", "start_time"]],
        },
        TableDef {
            name: "events",
            columns: vec![
                column("workspace_id", Text),
                column("event_id", BigInt),
                column("user_id", BigInt),
                column("session_id", BigInt),
                column("event_name", Text),
                column("ts", Timestamp),
                nullable("properties", Text),
            ],
            primary_key: vec!["workspace_id", "event_id"],
            // (tenant, time) serves the period filters; (tenant, entity, time) the funnel's
            // self-joins, which look up one user's next events (without it a funnel over weeks
            // scans the workspace's events per first step and timed out on MariaDB).
            indexes: vec![
                vec!["workspace_id", "ts"],
                vec!["workspace_id", "user_id", "ts"],
            ],
        },
        TableDef {
            name: "customers",
            columns: vec![
                column("workspace_id", Text),
                column("customer_id", BigInt),
                column("company_name", Text),
                column("contact_email", Text),
                column("plan_tier", Text),
                column("mrr", BigInt),
                column("created_at", Timestamp),
                nullable("churned_at", Timestamp),
            ],
            primary_key: vec!["workspace_id", "customer_id"],
            indexes: vec![
                vec!["workspace_id", "created_at"],
                vec!["workspace_id", "churned_at"],
            ],
        },
        TableDef {
            name: "support_tickets",
            columns: vec![
                column("workspace_id", Text),
                column("ticket_id", BigInt),
                column("customer_id", BigInt),
                column("opened_at", Timestamp),
                nullable("resolved_at", Timestamp),
                column("priority", Text),
                column("category", Text),
            ],
            primary_key: vec!["workspace_id", "ticket_id"],
            indexes: vec![
                vec!["workspace_id", "opened_at"],
                vec!["workspace_id", "resolved_at"],
            ],
        },
    ]
}

/// Writes every table of [`tables`], in that order, for all workspaces.
pub(crate) fn generate(opts: &DemoOptions, sink: &mut dyn RowSink) -> Result<(), DemoError> {
    opts.validate()?;
    let history = History::new(opts.end_date);
    let defs = tables();
    let users: Vec<Vec<User>> = WORKSPACES
        .iter()
        .enumerate()
        .map(|(index, workspace)| generate_users(index as u64, workspace, opts, &history))
        .collect();

    sink.begin_table(&defs[0])?;
    for (workspace, users) in WORKSPACES.iter().zip(&users) {
        write_user_profiles(workspace, users, sink)?;
    }
    sink.end_table()?;

    for (def, pass) in defs[1..3].iter().zip([Pass::Sessions, Pass::Events]) {
        sink.begin_table(def)?;
        for (index, (workspace, users)) in WORKSPACES.iter().zip(&users).enumerate() {
            simulate_activity(index as u64, workspace, opts, &history, users, pass, sink)?;
        }
        sink.end_table()?;
    }
    drop(users);

    let customers: Vec<Vec<Customer>> = WORKSPACES
        .iter()
        .enumerate()
        .map(|(index, workspace)| generate_customers(index as u64, workspace, opts, &history))
        .collect();
    sink.begin_table(&defs[3])?;
    for (workspace, customers) in WORKSPACES.iter().zip(&customers) {
        write_customers(workspace, customers, sink)?;
    }
    sink.end_table()?;

    sink.begin_table(&defs[4])?;
    for (index, (workspace, customers)) in WORKSPACES.iter().zip(&customers).enumerate() {
        write_tickets(index as u64, workspace, opts, &history, customers, sink)?;
    }
    sink.end_table()
}

/// The calendar of the history, shared by every table.
struct History {
    first_day: NaiveDate,
    /// The last timestamp any row may carry: one second before the midnight after `end_date`.
    latest: NaiveDateTime,
    anomaly_day: NaiveDate,
    /// Activity decay by age in days (index 0 is the signup day).
    decay: Vec<f64>,
}

impl History {
    fn new(end_date: NaiveDate) -> Self {
        let first_day = end_date - Duration::days(i64::from(HISTORY_DAYS - 1));
        let latest = (end_date + Duration::days(1)).and_time(NaiveTime::MIN) - Duration::seconds(1);
        // Engagement fades over the first weeks of a user's life to a floor of 30%.
        let decay = (0..=HISTORY_DAYS)
            .map(|age| 0.30 + 0.70 * (-f64::from(age) / 30.0).exp())
            .collect();
        History {
            first_day,
            latest,
            anomaly_day: planted_anomaly_day(end_date),
            decay,
        }
    }

    fn day(&self, index: u32) -> NaiveDate {
        self.first_day + Duration::days(i64::from(index))
    }

    /// Mild linear growth from 1.0 on the first day to 1.0 + `SIGNUP_GROWTH` on the last.
    fn trend(&self, index: u32) -> f64 {
        1.0 + SIGNUP_GROWTH * f64::from(index) / f64::from(HISTORY_DAYS - 1)
    }
}

fn at(day: NaiveDate, second_of_day: u32) -> NaiveDateTime {
    day.and_time(NaiveTime::MIN) + Duration::seconds(i64::from(second_of_day))
}

/// Weekdays are busier than weekends, for signups and for product use.
fn weekday_signup_factor(weekday: Weekday) -> f64 {
    match weekday {
        Weekday::Mon => 1.04,
        Weekday::Tue => 1.08,
        Weekday::Wed => 1.06,
        Weekday::Thu => 1.02,
        Weekday::Fri => 0.94,
        Weekday::Sat => 0.66,
        Weekday::Sun => 0.62,
    }
}

fn weekday_activity_factor(weekday: Weekday) -> f64 {
    match weekday {
        Weekday::Mon => 1.05,
        Weekday::Tue => 1.08,
        Weekday::Wed => 1.07,
        Weekday::Thu => 1.04,
        Weekday::Fri => 0.95,
        Weekday::Sat => 0.62,
        Weekday::Sun => 0.60,
    }
}

/// Relative activity per UTC hour: a floor plus a triangular bump around the workspace's peak.
fn hour_weights(peak_hour: u32) -> [f64; 24] {
    let mut weights = [0.0; 24];
    for (hour, weight) in weights.iter_mut().enumerate() {
        let distance = (hour as i64 - i64::from(peak_hour)).rem_euclid(24);
        let distance = distance.min(24 - distance) as f64;
        *weight = 0.15 + (1.0 - distance / 8.0).max(0.0);
    }
    weights
}

/// A second of the day, at most 23:58:00 so that a session starting then still ends (at least
/// a minute later) before midnight.
fn second_of_day(rng: &mut Rng, hours: &[f64; 24]) -> u32 {
    const LATEST_START: u32 = 86_400 - 120;
    let hour = rng.pick_weighted(hours) as u32;
    (hour * 3600 + rng.range(0, 3599) as u32).min(LATEST_START)
}

// ---------------------------------------------------------------------------------------- users

/// A user, held in memory for the whole run (about 40 bytes).
struct User {
    id: i64,
    signup_at: NaiveDateTime,
    signup_day: u32,
    /// The last day the user may be active; equal to `signup_day` for users who never return.
    last_day: u32,
    /// Chance of being active on a weekday early in the user's life.
    activity: f32,
    country: u8,
    device: u8,
    channel: u8,
    first_name: u8,
    last_name: u8,
    email_domain: u8,
    email_number: u16,
}

/// Creates every user of a workspace, day by day, ordered by signup time; ids count from 1.
///
/// Each day's signups are split over the (device, channel) segments by systematic sampling, so
/// every segment is within one user of its expected share: day-to-day noise lives in the day's
/// total, and a segment that drops stands out.
fn generate_users(
    workspace_index: u64,
    workspace: &Workspace,
    opts: &DemoOptions,
    history: &History,
) -> Vec<User> {
    let segment_weights: Vec<f64> = (0..DEVICES.len())
        .flat_map(|device| {
            let channels = &workspace.channel_weights[device];
            let channel_total: f64 = channels.iter().sum();
            channels
                .iter()
                .map(move |weight| workspace.device_weights[device] * weight / channel_total)
        })
        .collect();
    let hours = hour_weights(workspace.peak_hour);
    let mut users = Vec::new();
    let mut day_users = Vec::new();
    for day_index in 0..HISTORY_DAYS {
        let day = history.day(day_index);
        let mut rng = Rng::derive(
            opts.seed,
            &[workspace_index, STREAM_SIGNUPS, u64::from(day_index)],
        );
        let noise = (1.0 + 0.04 * rng.normalish()).clamp(0.85, 1.15);
        let expected = workspace.signups_per_weekday
            * opts.scale
            * weekday_signup_factor(day.weekday())
            * history.trend(day_index)
            * noise;
        let total = rng.stochastic_round(expected);
        let counts = apportion(total, &segment_weights, rng.next_f64());
        let planted = workspace.planted_anomaly && day == history.anomaly_day;
        day_users.clear();
        for (segment, count) in counts.into_iter().enumerate() {
            let device = segment / CHANNELS.len();
            let channel = segment % CHANNELS.len();
            // Draw every user of the segment, then drop the planted share, so the anomaly changes
            // nothing but the missing users.
            let kept = if planted && device == ANDROID && channel == PAID_SOCIAL {
                (count as f64 * ANOMALY_KEPT_SHARE).round() as u64
            } else {
                count
            };
            for position in 0..count {
                let user = new_user(
                    &mut rng, workspace, history, &hours, day_index, device, channel,
                );
                if position < kept {
                    day_users.push(user);
                }
            }
        }
        day_users.sort_by_key(|user: &User| user.signup_at);
        for mut user in day_users.drain(..) {
            user.id = users.len() as i64 + 1;
            users.push(user);
        }
    }
    users
}

fn new_user(
    rng: &mut Rng,
    workspace: &Workspace,
    history: &History,
    hours: &[f64; 24],
    day_index: u32,
    device: usize,
    channel: usize,
) -> User {
    let day = history.day(day_index);
    // Leave time after signup for the first session to start before 23:58.
    let signup_second = second_of_day(rng, hours).min(86_400 - 240);
    // Most signups never come back; paid social brings the most drive-by signups.
    let class_weights = if channel == PAID_SOCIAL {
        [0.68, 0.23, 0.09]
    } else {
        [0.58, 0.30, 0.12]
    };
    let remaining_days = HISTORY_DAYS - 1 - day_index;
    let (activity, lifetime_days) = match rng.pick_weighted(&class_weights) {
        0 => (0.0, 0.0),
        1 => (rng.uniform(0.04, 0.12), rng.exponential(30.0)),
        _ => (rng.uniform(0.18, 0.45), rng.exponential(120.0)),
    };
    let lifetime_days = (lifetime_days.round() as u32).min(remaining_days);
    User {
        id: 0,
        signup_at: at(day, signup_second),
        signup_day: day_index,
        last_day: day_index + lifetime_days,
        activity: activity as f32,
        country: rng.pick_weighted(&workspace.country_weights) as u8,
        device: device as u8,
        channel: channel as u8,
        first_name: rng.range(0, FIRST_NAMES.len() as i64 - 1) as u8,
        last_name: rng.range(0, LAST_NAMES.len() as i64 - 1) as u8,
        email_domain: rng.range(0, EMAIL_DOMAINS.len() as i64 - 1) as u8,
        email_number: rng.range(1, 9999) as u16,
    }
}

/// Splits `total` over weighted buckets by systematic sampling with random start `offset` in
/// [0, 1): bucket counts sum to `total` and each is within one of `total * weight / sum`.
fn apportion(total: u64, weights: &[f64], offset: f64) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    let mut cumulative = 0.0;
    let mut previous = 0u64;
    weights
        .iter()
        .enumerate()
        .map(|(index, weight)| {
            cumulative += weight / sum;
            // The last boundary is exactly `total`, whatever the rounding of the weights' sum.
            let upto = if index + 1 == weights.len() {
                total
            } else {
                ((cumulative * total as f64 + offset).floor() as u64).min(total)
            };
            let count = upto.saturating_sub(previous);
            previous = upto.max(previous);
            count
        })
        .collect()
}

fn write_user_profiles(
    workspace: &Workspace,
    users: &[User],
    sink: &mut dyn RowSink,
) -> Result<(), DemoError> {
    for user in users {
        let email = format!(
            "{}.{}.{}@{}",
            FIRST_NAMES[usize::from(user.first_name)],
            LAST_NAMES[usize::from(user.last_name)],
            user.email_number,
            EMAIL_DOMAINS[usize::from(user.email_domain)],
        );
        sink.row(vec![
            Cell::Text(workspace.id.to_owned()),
            Cell::Int(user.id),
            Cell::Timestamp(user.signup_at),
            Cell::Text(COUNTRIES[usize::from(user.country)].to_owned()),
            Cell::Text(DEVICES[usize::from(user.device)].to_owned()),
            Cell::Text(CHANNELS[usize::from(user.channel)].to_owned()),
            Cell::Text(email.to_ascii_lowercase()),
        ])?;
    }
    Ok(())
}

// ------------------------------------------------------------------------ sessions and events

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Sessions,
    Events,
}

struct PendingSession {
    start: NaiveDateTime,
    end: NaiveDateTime,
    user_id: i64,
    device: u8,
    country: u8,
    /// This session's events are `events[first_event..first_event + event_count]`.
    first_event: usize,
    event_count: usize,
}

struct PendingEvent {
    ts: NaiveDateTime,
    name: u8,
    /// An index or number for the event's properties; `None` writes NULL.
    property: Option<u16>,
}

struct LivingUser {
    index: usize,
    rng: Rng,
}

/// Simulates a workspace's product use day by day and writes either its sessions or its events.
///
/// Users join on their signup day (with a first session minutes after signing up) and stay in
/// the living set until their last day; on later days each is active with a probability that
/// falls with age and on weekends. Within a day, sessions are numbered by start time and events
/// by timestamp, so ids grow with time.
fn simulate_activity(
    workspace_index: u64,
    workspace: &Workspace,
    opts: &DemoOptions,
    history: &History,
    users: &[User],
    pass: Pass,
    sink: &mut dyn RowSink,
) -> Result<(), DemoError> {
    let hours = hour_weights(workspace.peak_hour);
    let mut living: Vec<LivingUser> = Vec::new();
    let mut next_user = 0;
    let mut next_session_id = 1i64;
    let mut next_event_id = 1i64;
    let mut sessions: Vec<PendingSession> = Vec::new();
    let mut events: Vec<PendingEvent> = Vec::new();
    let mut event_order: Vec<(NaiveDateTime, usize, usize)> = Vec::new();
    for day_index in 0..HISTORY_DAYS {
        let day = history.day(day_index);
        let weekday_factor = weekday_activity_factor(day.weekday());
        sessions.clear();
        events.clear();

        for living_user in &mut living {
            let user = &users[living_user.index];
            let rng = &mut living_user.rng;
            let age = (day_index - user.signup_day) as usize;
            let chance = f64::from(user.activity) * history.decay[age] * weekday_factor;
            if !rng.bernoulli(chance) {
                continue;
            }
            let count = 1 + rng.poisson(0.2).min(3);
            for _ in 0..count {
                let start = at(day, second_of_day(rng, &hours));
                add_session(
                    rng,
                    workspace,
                    history,
                    user,
                    start,
                    &mut sessions,
                    &mut events,
                );
            }
        }

        while next_user < users.len() && users[next_user].signup_day == day_index {
            let user = &users[next_user];
            let mut rng = Rng::derive(
                opts.seed,
                &[workspace_index, STREAM_ACTIVITY, user.id as u64],
            );
            let start = user.signup_at + Duration::seconds(rng.range(5, 120));
            add_session(
                &mut rng,
                workspace,
                history,
                user,
                start,
                &mut sessions,
                &mut events,
            );
            if rng.bernoulli(0.15) {
                let later = start + Duration::seconds(rng.range(3600, 6 * 3600));
                if later < at(day, 86_400 - 120) {
                    add_session(
                        &mut rng,
                        workspace,
                        history,
                        user,
                        later,
                        &mut sessions,
                        &mut events,
                    );
                }
            }
            if user.last_day > day_index {
                living.push(LivingUser {
                    index: next_user,
                    rng,
                });
            }
            next_user += 1;
        }
        living.retain(|living_user| users[living_user.index].last_day > day_index);

        sessions.sort_by_key(|session| (session.start, session.user_id));
        match pass {
            Pass::Sessions => {
                for session in &sessions {
                    sink.row(vec![
                        Cell::Text(workspace.id.to_owned()),
                        Cell::Int(next_session_id),
                        Cell::Int(session.user_id),
                        Cell::Timestamp(session.start),
                        Cell::Timestamp(session.end),
                        Cell::Text(DEVICES[usize::from(session.device)].to_owned()),
                        Cell::Text(COUNTRIES[usize::from(session.country)].to_owned()),
                    ])?;
                    next_session_id += 1;
                }
            }
            Pass::Events => {
                event_order.clear();
                for (position, session) in sessions.iter().enumerate() {
                    let range = session.first_event..session.first_event + session.event_count;
                    for (event, pending) in events[range.clone()].iter().zip(range) {
                        event_order.push((event.ts, position, pending));
                    }
                }
                // Stable: events at the same second keep session and in-session order.
                event_order.sort_by_key(|(ts, _, _)| *ts);
                for (ts, position, event) in &event_order {
                    let session = &sessions[*position];
                    let event = &events[*event];
                    sink.row(vec![
                        Cell::Text(workspace.id.to_owned()),
                        Cell::Int(next_event_id),
                        Cell::Int(session.user_id),
                        Cell::Int(next_session_id + *position as i64),
                        Cell::Text(EVENT_NAMES[usize::from(event.name)].to_owned()),
                        Cell::Timestamp(*ts),
                        event_properties(event),
                    ])?;
                    next_event_id += 1;
                }
                next_session_id += sessions.len() as i64;
            }
        }
    }
    Ok(())
}

/// One session of 1–15 browsing events, sometimes followed by a checkout
/// (checkout_started → payment_submitted in ≈60% → order_completed in ≈80% of those).
/// Nothing is written past the end of the history.
fn add_session(
    rng: &mut Rng,
    workspace: &Workspace,
    history: &History,
    user: &User,
    start: NaiveDateTime,
    sessions: &mut Vec<PendingSession>,
    events: &mut Vec<PendingEvent>,
) {
    // Usually the user's own device, sometimes another one (the web app on a phone user's laptop).
    let device = if rng.bernoulli(0.1) {
        (user.device + rng.range(1, 2) as u8) % DEVICES.len() as u8
    } else {
        user.device
    };
    let country = if rng.bernoulli(0.02) {
        rng.pick_weighted(&workspace.country_weights) as u8
    } else {
        user.country
    };
    let first_event = events.len();
    let mut offset = 0i64;
    let mut browsing = 1;
    while browsing < 15 && rng.bernoulli(0.7) {
        browsing += 1;
    }
    for position in 0..browsing {
        if position > 0 {
            offset += 5 + (rng.exponential(80.0) as i64).min(175);
        }
        let name = if position == 0 && rng.bernoulli(0.8) {
            PAGE_VIEW
        } else {
            rng.pick_weighted(&[0.50, 0.33, 0.17]) as u8
        };
        push_event(
            rng,
            events,
            history,
            start + Duration::seconds(offset),
            name,
        );
    }
    if rng.bernoulli(0.07) {
        offset += rng.range(20, 240);
        push_event(
            rng,
            events,
            history,
            start + Duration::seconds(offset),
            CHECKOUT_STARTED,
        );
        if rng.bernoulli(0.6) {
            offset += rng.range(60, 300);
            push_event(
                rng,
                events,
                history,
                start + Duration::seconds(offset),
                PAYMENT_SUBMITTED,
            );
            if rng.bernoulli(0.8) {
                offset += rng.range(30, 240);
                push_event(
                    rng,
                    events,
                    history,
                    start + Duration::seconds(offset),
                    ORDER_COMPLETED,
                );
            }
        }
    }
    // Reading time after the last event. At most 14 × 180 s of browsing, 780 s of checkout and
    // 300 s of reading: a session never lasts more than an hour.
    offset += rng.range(30, 300);
    let end = (start + Duration::seconds(offset.max(60))).min(history.latest);
    sessions.push(PendingSession {
        start,
        end,
        user_id: user.id,
        device,
        country,
        first_event,
        event_count: events.len() - first_event,
    });
}

/// Draws the event's properties (so both passes draw the same numbers) and keeps it only if it
/// falls inside the history.
fn push_event(
    rng: &mut Rng,
    events: &mut Vec<PendingEvent>,
    history: &History,
    ts: NaiveDateTime,
    name: u8,
) {
    let property = match name {
        0 => rng.range(0, PAGES.len() as i64 - 1),
        1 => rng.range(0, FEATURES.len() as i64 - 1),
        2 => rng.range(0, 40),
        3 => rng.range(1, 4),
        4 => rng.range(0, PAYMENT_METHODS.len() as i64 - 1),
        _ => rng.range(19, 499),
    } as u16;
    let property = if rng.bernoulli(0.2) {
        None
    } else {
        Some(property)
    };
    if ts <= history.latest {
        events.push(PendingEvent { ts, name, property });
    }
}

fn event_properties(event: &PendingEvent) -> Cell {
    let Some(value) = event.property else {
        return Cell::Null;
    };
    let index = usize::from(value);
    let json = match event.name {
        0 => serde_json::json!({ "path": PAGES[index] }),
        1 => serde_json::json!({ "feature": FEATURES[index] }),
        2 => serde_json::json!({ "results": value }),
        3 => serde_json::json!({ "items": value }),
        4 => serde_json::json!({ "method": PAYMENT_METHODS[index] }),
        _ => serde_json::json!({ "amount_usd": value }),
    };
    Cell::Text(json.to_string())
}

// ---------------------------------------------------------------------------------- customers

struct Customer {
    id: i64,
    created_at: NaiveDateTime,
    churned_at: Option<NaiveDateTime>,
    plan: usize,
    mrr: i64,
    company_name: String,
    contact_email: String,
}

/// Customers created over the history (more on weekdays and later days), ordered by creation
/// time; about a quarter churn, free plans most often.
fn generate_customers(
    workspace_index: u64,
    workspace: &Workspace,
    opts: &DemoOptions,
    history: &History,
) -> Vec<Customer> {
    let mut rng = Rng::derive(opts.seed, &[workspace_index, STREAM_CUSTOMERS]);
    let count = rng.stochastic_round(workspace.customers * opts.scale);
    let mut cumulative = Vec::with_capacity(HISTORY_DAYS as usize);
    let mut total = 0.0;
    for day_index in 0..HISTORY_DAYS {
        let business_day = match history.day(day_index).weekday() {
            Weekday::Sat | Weekday::Sun => 0.15,
            _ => 1.0,
        };
        total += business_day * history.trend(day_index);
        cumulative.push(total);
    }
    let business_hours = business_hour_weights();
    let mut customers: Vec<Customer> = (0..count)
        .map(|_| {
            let target = rng.next_f64() * total;
            let day_index = cumulative.partition_point(|value| *value <= target) as u32;
            let created_at = at(
                history.day(day_index.min(HISTORY_DAYS - 1)),
                second_of_day(&mut rng, &business_hours),
            );
            let plan = rng.pick_weighted(&workspace.plan_weights);
            let mrr = match plan {
                0 => 0,
                1 => rng.range(49, 99),
                2 => rng.range(299, 799),
                _ => rng.range(1500, 6000),
            };
            let mean_lifetime_days = [360.0, 750.0, 1100.0, 2000.0][plan];
            let lifetime_days = rng.exponential(mean_lifetime_days).max(3.0);
            let churn_day = created_at.date() + Duration::days(lifetime_days as i64);
            let churned_at = at(churn_day, second_of_day(&mut rng, &business_hours));
            Customer {
                id: 0,
                created_at,
                churned_at: (churned_at <= history.latest).then_some(churned_at),
                plan,
                mrr,
                company_name: String::new(),
                contact_email: String::new(),
            }
        })
        .collect();
    customers.sort_by_key(|customer| customer.created_at);

    // Names are drawn in id order; a repeated name gets a number, since a company name
    // identifies one customer.
    let mut taken = std::collections::BTreeSet::new();
    for (position, customer) in customers.iter_mut().enumerate() {
        customer.id = position as i64 + 1;
        let prefix = *rng.pick(&COMPANY_PREFIXES);
        let root = *rng.pick(&COMPANY_ROOTS);
        let suffix = *rng.pick(&COMPANY_SUFFIXES);
        let mut name = format!("{prefix}{root} {suffix}");
        if !taken.insert(name.clone()) {
            name = format!("{prefix}{root} {suffix} {}", customer.id);
            taken.insert(name.clone());
        }
        customer.company_name = name;
        customer.contact_email = format!(
            "{}.{}@{}{}.example.com",
            rng.pick(&FIRST_NAMES),
            rng.pick(&LAST_NAMES),
            prefix,
            root
        )
        .to_ascii_lowercase();
    }
    customers
}

fn business_hour_weights() -> [f64; 24] {
    let mut weights = [0.02; 24];
    for weight in &mut weights[8..18] {
        *weight = 1.0;
    }
    weights
}

fn write_customers(
    workspace: &Workspace,
    customers: &[Customer],
    sink: &mut dyn RowSink,
) -> Result<(), DemoError> {
    for customer in customers {
        sink.row(vec![
            Cell::Text(workspace.id.to_owned()),
            Cell::Int(customer.id),
            Cell::Text(customer.company_name.clone()),
            Cell::Text(customer.contact_email.clone()),
            Cell::Text(PLAN_TIERS[customer.plan].to_owned()),
            Cell::Int(customer.mrr),
            Cell::Timestamp(customer.created_at),
            customer.churned_at.map_or(Cell::Null, Cell::Timestamp),
        ])?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------- support tickets

struct Ticket {
    customer_id: i64,
    opened_at: NaiveDateTime,
    resolved_at: Option<NaiveDateTime>,
    priority: usize,
    category: usize,
}

/// Tickets arrive at a per-plan rate while a customer is active; most are resolved 0.5–120
/// hours later (faster for higher priorities), some never, and none after the history ends.
fn write_tickets(
    workspace_index: u64,
    workspace: &Workspace,
    opts: &DemoOptions,
    history: &History,
    customers: &[Customer],
    sink: &mut dyn RowSink,
) -> Result<(), DemoError> {
    let mut rng = Rng::derive(opts.seed, &[workspace_index, STREAM_TICKETS]);
    let business_hours = business_hour_weights();
    let mut tickets = Vec::new();
    for customer in customers {
        let tickets_per_day = [0.004, 0.012, 0.025, 0.05][customer.plan];
        let active_until = customer.churned_at.unwrap_or(history.latest);
        let mut day = customer.created_at.date();
        loop {
            day += Duration::days(rng.exponential(1.0 / tickets_per_day).round() as i64);
            let opened_at = at(day, second_of_day(&mut rng, &business_hours));
            if opened_at >= active_until || opened_at > history.latest {
                break;
            }
            if opened_at <= customer.created_at {
                continue;
            }
            let priority = rng.pick_weighted(&[0.30, 0.45, 0.18, 0.07]);
            let category = rng.pick_weighted(&[0.20, 0.30, 0.28, 0.14, 0.08]);
            let (fastest, slowest) =
                [(2.0, 120.0), (1.0, 96.0), (0.5, 36.0), (0.5, 12.0)][priority];
            let hours = (rng.uniform(f64::ln(fastest), f64::ln(slowest))).exp();
            let resolved_at = opened_at + Duration::seconds((hours * 3600.0).round() as i64);
            let abandoned = rng.bernoulli(0.05);
            tickets.push(Ticket {
                customer_id: customer.id,
                opened_at,
                resolved_at: (!abandoned && resolved_at <= history.latest).then_some(resolved_at),
                priority,
                category,
            });
        }
    }
    tickets.sort_by_key(|ticket| ticket.opened_at);
    for (position, ticket) in tickets.iter().enumerate() {
        sink.row(vec![
            Cell::Text(workspace.id.to_owned()),
            Cell::Int(position as i64 + 1),
            Cell::Int(ticket.customer_id),
            Cell::Timestamp(ticket.opened_at),
            ticket.resolved_at.map_or(Cell::Null, Cell::Timestamp),
            Cell::Text(PRIORITIES[ticket.priority].to_owned()),
            Cell::Text(CATEGORIES[ticket.category].to_owned()),
        ])?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------- word lists

const FIRST_NAMES: [&str; 32] = [
    "Ada", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Liam", "Maya", "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wei", "Xavier", "Yara", "Zoe", "Amara", "Bruno", "Chloe", "Diego", "Emma", "Felix",
];
const LAST_NAMES: [&str; 32] = [
    "Smith", "Muller", "Garcia", "Tanaka", "Silva", "Patel", "Martin", "Brown", "Kowalski",
    "Dubois", "Rossi", "Novak", "Kim", "Okafor", "Jensen", "Lopez", "Schmidt", "Singh", "Costa",
    "Walker", "Moreau", "Yilmaz", "Fischer", "Ito", "Nguyen", "Hughes", "Santos", "Berg", "Clarke",
    "Haddad", "Meyer", "Reyes",
];
/// Reserved for documentation (RFC 2606): these addresses can never reach anyone.
const EMAIL_DOMAINS: [&str; 3] = ["example.com", "example.net", "example.org"];

const COMPANY_PREFIXES: [&str; 20] = [
    "Blue", "North", "Silver", "Bright", "Iron", "Quantum", "Green", "Red", "Swift", "Clear",
    "Stone", "Sun", "Cedar", "Nova", "Harbor", "Summit", "Maple", "Polar", "Urban", "Golden",
];
const COMPANY_ROOTS: [&str; 20] = [
    "river", "peak", "forge", "leaf", "wave", "field", "bridge", "path", "light", "works", "stack",
    "grid", "point", "gate", "line", "wind", "rock", "bay", "loop", "spring",
];
const COMPANY_SUFFIXES: [&str; 10] = [
    "Labs",
    "Systems",
    "Analytics",
    "Logistics",
    "Foods",
    "Health",
    "Group",
    "GmbH",
    "Ltd",
    "Inc",
];

const PAGES: [&str; 7] = [
    "/",
    "/dashboard",
    "/reports",
    "/settings",
    "/billing",
    "/integrations",
    "/docs",
];
const FEATURES: [&str; 6] = [
    "export_csv",
    "share_report",
    "custom_dashboard",
    "alerts",
    "api_keys",
    "sso",
];
const PAYMENT_METHODS: [&str; 3] = ["card", "paypal", "invoice"];

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("a valid date")
    }

    #[test]
    fn the_anomaly_is_on_tuesday_of_the_week_before_the_day_after_the_end() {
        assert_eq!(planted_anomaly_day(date(2026, 11, 22)), date(2026, 11, 17));
        assert_eq!(planted_anomaly_day(date(2026, 11, 19)), date(2026, 11, 10));
        assert_eq!(planted_anomaly_day(date(2026, 11, 18)), date(2026, 11, 10));
        assert_eq!(planted_anomaly_day(date(2026, 11, 23)), date(2026, 11, 17));
        assert_eq!(planted_anomaly_day(date(2026, 11, 24)), date(2026, 11, 17));
        assert_eq!(planted_anomaly_day(date(2026, 11, 26)), date(2026, 11, 17));
        assert_eq!(planted_anomaly_day(date(2026, 11, 29)), date(2026, 11, 24));
    }

    #[test]
    fn apportioned_counts_add_up_and_stay_within_one_of_their_share() {
        let weights = [0.33 * 0.2, 0.45 * 0.65, 0.1, 0.3, 0.00001, 0.2];
        let sum: f64 = weights.iter().sum();
        let mut rng = Rng::derive(1, &[]);
        for total in [0, 1, 7, 19, 100, 4_321] {
            let counts = apportion(total, &weights, rng.next_f64());
            assert_eq!(counts.iter().sum::<u64>(), total);
            for (count, weight) in counts.iter().zip(weights) {
                let share = total as f64 * weight / sum;
                assert!((*count as f64 - share).abs() < 1.0, "{count} vs {share}");
            }
        }
    }
}
