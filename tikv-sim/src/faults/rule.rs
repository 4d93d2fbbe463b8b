//! Fault rules and their text form, e.g. `rpc=Write,error=ServerIsBusy,rate=0.05`,
//! `rpc=MultiIngest,error=NotLeader,count=3,store=2`, `rpc=KvGet,latency_ms=200`,
//! `rpc=DuplicateDetect,drop_stream_after=2`, `store=2,down_after_ms=500,down_for_ms=3000`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Every RPC the sim serves, named as in the `.proto` services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Rpc {
    GetMembers,
    Tso,
    GetStore,
    GetAllStores,
    GetRegion,
    #[serde(rename = "GetRegionByID")]
    GetRegionById,
    ScanRegions,
    AskBatchSplit,
    ReportBatchSplit,
    ScatterRegion,
    GetOperator,
    SplitRegions,
    KvGet,
    KvScan,
    KvBatchGet,
    SplitRegion,
    Coprocessor,
    SwitchMode,
    GetMode,
    Write,
    Ingest,
    MultiIngest,
    DuplicateDetect,
}

const ALL_RPCS: [Rpc; 23] = [
    Rpc::GetMembers,
    Rpc::Tso,
    Rpc::GetStore,
    Rpc::GetAllStores,
    Rpc::GetRegion,
    Rpc::GetRegionById,
    Rpc::ScanRegions,
    Rpc::AskBatchSplit,
    Rpc::ReportBatchSplit,
    Rpc::ScatterRegion,
    Rpc::GetOperator,
    Rpc::SplitRegions,
    Rpc::KvGet,
    Rpc::KvScan,
    Rpc::KvBatchGet,
    Rpc::SplitRegion,
    Rpc::Coprocessor,
    Rpc::SwitchMode,
    Rpc::GetMode,
    Rpc::Write,
    Rpc::Ingest,
    Rpc::MultiIngest,
    Rpc::DuplicateDetect,
];

impl Rpc {
    pub fn name(self) -> &'static str {
        match self {
            Rpc::GetMembers => "GetMembers",
            Rpc::Tso => "Tso",
            Rpc::GetStore => "GetStore",
            Rpc::GetAllStores => "GetAllStores",
            Rpc::GetRegion => "GetRegion",
            Rpc::GetRegionById => "GetRegionByID",
            Rpc::ScanRegions => "ScanRegions",
            Rpc::AskBatchSplit => "AskBatchSplit",
            Rpc::ReportBatchSplit => "ReportBatchSplit",
            Rpc::ScatterRegion => "ScatterRegion",
            Rpc::GetOperator => "GetOperator",
            Rpc::SplitRegions => "SplitRegions",
            Rpc::KvGet => "KvGet",
            Rpc::KvScan => "KvScan",
            Rpc::KvBatchGet => "KvBatchGet",
            Rpc::SplitRegion => "SplitRegion",
            Rpc::Coprocessor => "Coprocessor",
            Rpc::SwitchMode => "SwitchMode",
            Rpc::GetMode => "GetMode",
            Rpc::Write => "Write",
            Rpc::Ingest => "Ingest",
            Rpc::MultiIngest => "MultiIngest",
            Rpc::DuplicateDetect => "DuplicateDetect",
        }
    }

    /// Served by PD rather than by a store.
    pub fn is_pd(self) -> bool {
        matches!(
            self,
            Rpc::GetMembers
                | Rpc::Tso
                | Rpc::GetStore
                | Rpc::GetAllStores
                | Rpc::GetRegion
                | Rpc::GetRegionById
                | Rpc::ScanRegions
                | Rpc::AskBatchSplit
                | Rpc::ReportBatchSplit
                | Rpc::ScatterRegion
                | Rpc::GetOperator
                | Rpc::SplitRegions
        )
    }

    /// Whether the response can carry an `errorpb.Error` (directly, or as
    /// `store_error` in Write's `import_sstpb.Error`).
    pub fn carries_region_error(self) -> bool {
        !self.is_pd() && !matches!(self, Rpc::SwitchMode | Rpc::GetMode)
    }

    pub fn is_stream(self) -> bool {
        matches!(self, Rpc::Tso | Rpc::Write | Rpc::DuplicateDetect)
    }
}

impl fmt::Display for Rpc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Rpc {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_RPCS
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| FaultSpecError(format!("unknown rpc {s:?}")))
    }
}

/// An error a fault makes the sim answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FaultError {
    NotLeader,
    EpochNotMatch,
    RegionNotFound,
    KeyNotInRegion,
    ServerIsBusy,
    StaleCommand,
    /// gRPC status UNAVAILABLE, as when the server is unreachable.
    Unavailable,
    /// Write's "request ... is ahead of local region, please retry write later".
    RequestTooNew,
    /// Write's "request ... is staler than local region".
    RequestTooOld,
}

impl FromStr for FaultError {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let all = [
            FaultError::NotLeader,
            FaultError::EpochNotMatch,
            FaultError::RegionNotFound,
            FaultError::KeyNotInRegion,
            FaultError::ServerIsBusy,
            FaultError::StaleCommand,
            FaultError::Unavailable,
            FaultError::RequestTooNew,
            FaultError::RequestTooOld,
        ];
        all.into_iter()
            .find(|e| format!("{e:?}").eq_ignore_ascii_case(s))
            .ok_or_else(|| FaultSpecError(format!("unknown error kind {s:?}")))
    }
}

/// What a fault does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum FaultAction {
    Error(FaultError),
    /// Delay the answer.
    LatencyMs(u64),
    /// Cut a stream after this many messages (received for Write, sent for
    /// Tso and DuplicateDetect).
    DropStreamAfter(u64),
    /// Stop the store `after_ms` after the rule is added, start it again
    /// `for_ms` later.
    StoreOutage {
        after_ms: u64,
        for_ms: u64,
    },
}

/// One fault: which RPC (all when `None`), which store (all when `None`),
/// what happens, how often (`rate` per matching call) and how many times at
/// most (`count`, unlimited when `None`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultRule {
    pub rpc: Option<Rpc>,
    pub store: Option<u64>,
    pub action: FaultAction,
    pub rate: f64,
    pub count: Option<u64>,
}

/// A fault spec that does not parse or makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault spec: {0}")]
pub struct FaultSpecError(pub String);

impl FromStr for FaultRule {
    type Err = FaultSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut fields = SpecFields::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| FaultSpecError(format!("{part:?} is not key=value in {spec:?}")))?;
            fields.set(key.trim(), value.trim())?;
        }
        let rule = fields.into_rule()?;
        rule.validate()?;
        Ok(rule)
    }
}

#[derive(Default)]
struct SpecFields {
    rpc: Option<Rpc>,
    store: Option<u64>,
    actions: Vec<FaultAction>,
    rate: Option<f64>,
    count: Option<u64>,
    down_after_ms: Option<u64>,
    down_for_ms: Option<u64>,
}

fn number<T: FromStr>(key: &str, value: &str) -> Result<T, FaultSpecError> {
    value
        .parse()
        .map_err(|_| FaultSpecError(format!("{key}={value:?} is not a number")))
}

impl SpecFields {
    fn set(&mut self, key: &str, value: &str) -> Result<(), FaultSpecError> {
        match key {
            "rpc" if value == "*" => self.rpc = None,
            "rpc" => self.rpc = Some(value.parse()?),
            "store" => self.store = Some(number(key, value)?),
            "error" => self.actions.push(FaultAction::Error(value.parse()?)),
            "latency_ms" => self
                .actions
                .push(FaultAction::LatencyMs(number(key, value)?)),
            "drop_stream_after" => self
                .actions
                .push(FaultAction::DropStreamAfter(number(key, value)?)),
            "rate" => self.rate = Some(number(key, value)?),
            "count" => self.count = Some(number(key, value)?),
            "down_after_ms" => self.down_after_ms = Some(number(key, value)?),
            "down_for_ms" => self.down_for_ms = Some(number(key, value)?),
            _ => return Err(FaultSpecError(format!("unknown key {key:?}"))),
        }
        Ok(())
    }

    fn into_rule(mut self) -> Result<FaultRule, FaultSpecError> {
        if self.down_after_ms.is_some() || self.down_for_ms.is_some() {
            self.actions.push(FaultAction::StoreOutage {
                after_ms: self.down_after_ms.unwrap_or(0),
                for_ms: self
                    .down_for_ms
                    .ok_or_else(|| FaultSpecError("down_after_ms needs down_for_ms".into()))?,
            });
        }
        let action = match self.actions.as_slice() {
            [one] => *one,
            [] => {
                return Err(FaultSpecError(
                    "needs one of error, latency_ms, drop_stream_after, down_for_ms".into(),
                ))
            }
            _ => {
                return Err(FaultSpecError(
                    "give only one of error, latency_ms, drop_stream_after, down_for_ms".into(),
                ))
            }
        };
        Ok(FaultRule {
            rpc: self.rpc,
            store: self.store,
            action,
            rate: self.rate.unwrap_or(1.0),
            count: self.count,
        })
    }
}

impl FaultRule {
    /// Rejects rules that a real cluster could never produce.
    pub fn validate(&self) -> Result<(), FaultSpecError> {
        let bad = |msg: String| Err(FaultSpecError(msg));
        if !(0.0..=1.0).contains(&self.rate) {
            return bad(format!("rate {} is not within 0..=1", self.rate));
        }
        match (self.action, self.rpc) {
            (FaultAction::StoreOutage { .. }, _) if self.store.is_none() => {
                bad("a store outage needs store=ID".into())
            }
            (FaultAction::StoreOutage { .. }, Some(rpc)) => {
                bad(format!("a store outage is not about rpc {rpc}"))
            }
            (FaultAction::DropStreamAfter(_), rpc) if !rpc.is_some_and(Rpc::is_stream) => {
                bad("drop_stream_after needs rpc=Tso, Write or DuplicateDetect".into())
            }
            (FaultAction::Error(FaultError::Unavailable), _) => Ok(()),
            (
                FaultAction::Error(e @ (FaultError::RequestTooNew | FaultError::RequestTooOld)),
                rpc,
            ) if rpc != Some(Rpc::Write) => bad(format!("{e:?} is an answer of Write only")),
            (FaultAction::Error(e), rpc) if !rpc.is_some_and(Rpc::carries_region_error) => {
                bad(format!(
                    "{e:?} needs an rpc whose answer carries a region error, not {}",
                    rpc.map_or("*", Rpc::name)
                ))
            }
            (FaultAction::Error(_), Some(rpc)) if rpc.is_pd() => {
                bad(format!("PD rpc {rpc} only fails with Unavailable"))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let rule: FaultRule = "rpc=Write,error=ServerIsBusy,rate=0.05"
            .parse()
            .expect("valid");
        assert_eq!(rule.rpc, Some(Rpc::Write));
        assert_eq!(rule.action, FaultAction::Error(FaultError::ServerIsBusy));
        assert_eq!((rule.rate, rule.count), (0.05, None));
        let rule: FaultRule = "rpc=multiingest,error=notleader,count=3,store=2"
            .parse()
            .expect("valid");
        assert_eq!(
            (rule.rpc, rule.store, rule.count),
            (Some(Rpc::MultiIngest), Some(2), Some(3))
        );
        let rule: FaultRule = "rpc=*,latency_ms=20".parse().expect("valid");
        assert_eq!((rule.rpc, rule.action), (None, FaultAction::LatencyMs(20)));
        let rule: FaultRule = "rpc=GetRegionByID,error=Unavailable"
            .parse()
            .expect("valid");
        assert_eq!(rule.rpc, Some(Rpc::GetRegionById));
        let rule: FaultRule = "store=2,down_after_ms=5,down_for_ms=100"
            .parse()
            .expect("valid");
        assert_eq!(
            rule.action,
            FaultAction::StoreOutage {
                after_ms: 5,
                for_ms: 100
            }
        );
        let rule: FaultRule = "rpc=DuplicateDetect,drop_stream_after=1"
            .parse()
            .expect("valid");
        assert_eq!(rule.action, FaultAction::DropStreamAfter(1));
    }

    #[test]
    fn rejects_nonsense() {
        for spec in [
            "rpc=Write",
            "rpc=Nope,error=NotLeader",
            "rpc=Write,error=NotLeader,latency_ms=3",
            "rpc=KvGet,error=RequestTooOld",
            "rpc=GetRegion,error=NotLeader",
            "rpc=SwitchMode,error=ServerIsBusy",
            "rpc=KvGet,drop_stream_after=1",
            "rpc=KvGet,error=NotLeader,rate=2",
            "down_for_ms=10",
            "rpc=KvGet,latency_ms=abc",
            "rpc=KvGet;error=NotLeader",
        ] {
            assert!(
                spec.parse::<FaultRule>().is_err(),
                "{spec} should be rejected"
            );
        }
    }
}
