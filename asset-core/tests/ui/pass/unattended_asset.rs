use asset_core::prelude::*;

#[derive(Table)]
pub struct Sessions(RecordBatch);

/// Daily at 06:00 in the partitions' zone, catching up a week at most.
#[asset(
    partitions = daily("2024-01-01"),
    schedule = "0 6 * * *",
    catchup = true,
    max_catchup = 7,
    sla = "6h",
    severity = P1
)]
fn sessions(ctx: &AssetContext) -> Result<Sessions> {
    let _ = ctx;
    todo!()
}

#[derive(Table)]
pub struct Engagement(RecordBatch);

#[asset(partitions = daily("2024-01-01"), automation = eager, severity = P3)]
fn engagement(sessions: Sessions) -> Result<Engagement> {
    let _ = sessions;
    todo!()
}

fn main() {
    let registry = asset_core::Registry::from_inventory().expect("registry");
    let sessions = registry.get("sessions").expect("sessions");
    let schedule = sessions.unattended.schedule.as_ref().expect("a schedule");
    assert_eq!(schedule.cron.as_str(), "0 6 * * *");
    assert!(schedule.catchup && schedule.max_catchup == 7);
    assert_eq!(sessions.unattended.severity, asset_core::Severity::P1);
    let engagement = registry.get("engagement").expect("engagement");
    assert_eq!(engagement.unattended.automation, Some(asset_core::Automation::Eager));
}
