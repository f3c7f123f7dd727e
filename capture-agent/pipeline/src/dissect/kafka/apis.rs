//! The api keys of Apache Kafka 3.x/4.0 (<https://kafka.apache.org/protocol#protocol_api_keys>):
//! their names, the first version of each that is flexible (KIP-482: compact strings and tagged
//! fields), and where a response body carries its top-level error code.

/// Name and first flexible version (KIP-482) of an api key.
pub(super) struct ApiInfo {
    /// The api's name, as `apiName` shows it.
    pub(super) name: &'static str,
    /// Its first flexible version, if any is.
    pub(super) flexible_from: Option<i16>,
}

/// The api keys of Apache Kafka 3.x/4.0 with their first flexible version.
pub(super) fn api(key: i16) -> Option<ApiInfo> {
    let (name, flexible_from) = match key {
        0 => ("Produce", Some(9)),
        1 => ("Fetch", Some(12)),
        2 => ("ListOffsets", Some(6)),
        3 => ("Metadata", Some(9)),
        4 => ("LeaderAndIsr", Some(4)),
        5 => ("StopReplica", Some(2)),
        6 => ("UpdateMetadata", Some(6)),
        7 => ("ControlledShutdown", Some(3)),
        8 => ("OffsetCommit", Some(8)),
        9 => ("OffsetFetch", Some(6)),
        10 => ("FindCoordinator", Some(3)),
        11 => ("JoinGroup", Some(6)),
        12 => ("Heartbeat", Some(4)),
        13 => ("LeaveGroup", Some(4)),
        14 => ("SyncGroup", Some(4)),
        15 => ("DescribeGroups", Some(5)),
        16 => ("ListGroups", Some(3)),
        17 => ("SaslHandshake", None),
        18 => ("ApiVersions", Some(3)),
        19 => ("CreateTopics", Some(5)),
        20 => ("DeleteTopics", Some(4)),
        21 => ("DeleteRecords", Some(2)),
        22 => ("InitProducerId", Some(2)),
        23 => ("OffsetForLeaderEpoch", Some(4)),
        24 => ("AddPartitionsToTxn", Some(3)),
        25 => ("AddOffsetsToTxn", Some(3)),
        26 => ("EndTxn", Some(3)),
        27 => ("WriteTxnMarkers", Some(1)),
        28 => ("TxnOffsetCommit", Some(3)),
        29 => ("DescribeAcls", Some(2)),
        30 => ("CreateAcls", Some(2)),
        31 => ("DeleteAcls", Some(2)),
        32 => ("DescribeConfigs", Some(4)),
        33 => ("AlterConfigs", Some(2)),
        34 => ("AlterReplicaLogDirs", Some(2)),
        35 => ("DescribeLogDirs", Some(2)),
        36 => ("SaslAuthenticate", Some(2)),
        37 => ("CreatePartitions", Some(2)),
        38 => ("CreateDelegationToken", Some(2)),
        39 => ("RenewDelegationToken", Some(2)),
        40 => ("ExpireDelegationToken", Some(2)),
        41 => ("DescribeDelegationToken", Some(2)),
        42 => ("DeleteGroups", Some(2)),
        43 => ("ElectLeaders", Some(2)),
        44 => ("IncrementalAlterConfigs", Some(1)),
        45 => ("AlterPartitionReassignments", Some(0)),
        46 => ("ListPartitionReassignments", Some(0)),
        47 => ("OffsetDelete", None),
        48 => ("DescribeClientQuotas", Some(1)),
        49 => ("AlterClientQuotas", Some(1)),
        50 => ("DescribeUserScramCredentials", Some(0)),
        51 => ("AlterUserScramCredentials", Some(0)),
        52 => ("Vote", Some(0)),
        53 => ("BeginQuorumEpoch", Some(1)),
        54 => ("EndQuorumEpoch", Some(1)),
        55 => ("DescribeQuorum", Some(0)),
        56 => ("AlterPartition", Some(0)),
        57 => ("UpdateFeatures", Some(0)),
        58 => ("Envelope", Some(0)),
        59 => ("FetchSnapshot", Some(0)),
        60 => ("DescribeCluster", Some(0)),
        61 => ("DescribeProducers", Some(0)),
        62 => ("BrokerRegistration", Some(0)),
        63 => ("BrokerHeartbeat", Some(0)),
        64 => ("UnregisterBroker", Some(0)),
        65 => ("DescribeTransactions", Some(0)),
        66 => ("ListTransactions", Some(0)),
        67 => ("AllocateProducerIds", Some(0)),
        68 => ("ConsumerGroupHeartbeat", Some(0)),
        69 => ("ConsumerGroupDescribe", Some(0)),
        70 => ("ControllerRegistration", Some(0)),
        71 => ("GetTelemetrySubscriptions", Some(0)),
        72 => ("PushTelemetry", Some(0)),
        73 => ("AssignReplicasToDirs", Some(0)),
        74 => ("ListClientMetricsResources", Some(0)),
        75 => ("DescribeTopicPartitions", Some(0)),
        _ => return None,
    };
    Some(ApiInfo {
        name,
        flexible_from,
    })
}

/// Where the top-level error code sits in a response body (after its header), if it has one.
pub(super) fn error_code_offset(api_key: i16, version: i16) -> Option<usize> {
    const FIRST: usize = 0;
    const AFTER_THROTTLE: usize = 4;
    match (api_key, version) {
        (1, 7..) => Some(AFTER_THROTTLE),
        (10, 0) | (11, 0..=1) | (12, 0) | (13, 0) | (14, 0) | (16, 0) => Some(FIRST),
        (10, 1..=3) | (11, 2..) | (12, 1..) | (13, 1..) | (14, 1..) | (16, 1..) => {
            Some(AFTER_THROTTLE)
        }
        (17 | 18 | 36 | 38 | 39 | 40 | 41, _) => Some(FIRST),
        (22 | 25 | 26 | 29 | 45 | 46 | 48 | 50 | 57 | 60 | 66 | 68, _) | (43, 1..) => {
            Some(AFTER_THROTTLE)
        }
        _ => None,
    }
}
