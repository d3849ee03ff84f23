/// Small intake payloads, written out so each test shows exactly what it replays.
enum Payloads {
    static let urn = "urn:health:sourceId:streamId"

    /// The StackState documentation's example as intended: one complete REPEAT_SNAPSHOTS snapshot with two check
    /// states in mixed-case health, pretty-printed.
    static let documentationExample = """
        {
          "collection_timestamp": 1548857167,
          "internalHostname": "localdocker.test",
          "events": {}, "metrics": [], "service_checks": [], "topologies": [],
          "health": [
            {
              "start_snapshot": { "repeat_interval_s": 300 },
              "stop_snapshot": {},
              "stream": { "urn": "urn:health:sourceId:streamId" },
              "check_states": [
                {
                  "checkStateId": "checkStateId1",
                  "message": "Server Running out of disk space",
                  "health": "Deviating",
                  "topologyElementIdentifier": "server-1",
                  "name": "Disk Usage"
                },
                {
                  "checkStateId": "checkStateId2",
                  "message": "Provisioning failed. [Learn more](https://www.any-link.com)",
                  "health": "critical",
                  "topologyElementIdentifier": "server-2",
                  "name": "Health Monitor"
                }
              ]
            }
          ]
        }
        """

    /// The `collection_timestamp` of ``documentationExample``.
    static let documentationExampleTime = 1_548_857_167

    /// The shape of the StackState 4.4 `curl` example: `health` nested in a second array and a `},` missing
    /// between the two check states (the parser stops at line 9, column 11).
    static let documentationCurlExample = """
        {
          "collection_timestamp": 1548857167,
          "health": [
            [
              {
                "stream": { "urn": "urn:health:sourceId:streamId" },
                "check_states": [
                  { "checkStateId": "a", "health": "Deviating", "topologyElementIdentifier": "s-1", "name": "Disk"
                  { "checkStateId": "b", "health": "critical", "topologyElementIdentifier": "s-2", "name": "Monitor" }
                ]
              }
            ]
          ]
        }
        """

    /// The documentation's 4.4 defect alone, as valid JSON: `health` as a list of lists.
    static let listOfLists = """
        {"collection_timestamp": 1548857167, "health": [[{"stream": {"urn": "urn:health:sourceId:streamId"}}]]}
        """

    /// A one-line envelope at `time` with one complete snapshot of `urn`'s main sub-stream.
    static func snapshotLine(at time: Int, urn: String = urn, states: [String]) -> String {
        """
        {"collection_timestamp": \(time), "health": [{"stream": {"urn": "\(urn)"}, \
        "start_snapshot": {"repeat_interval_s": 1800}, "check_states": [\(states.joined(separator: ", "))], \
        "stop_snapshot": {}}]}
        """
    }

    /// A check state object.
    static func checkState(_ id: String, _ health: String = "CLEAR", message: String? = nil) -> String {
        let message = message.map { #", "message": "\#($0)""# } ?? ""
        return #"{"checkStateId": "\#(id)", "name": "check \#(id)", "health": "\#(health)", "#
            + #""topologyElementIdentifier": "element-\#(id)"\#(message)}"#
    }

    /// Two streams at 1000: `urn:health:a:main` with a main snapshot (one check state) and sub-stream `eu`
    /// (repeat 60 s, expiry 120 s, two check states); `urn:health:b:ti` with one TRANSACTIONAL_INCREMENTS
    /// increment at offset 7.
    static let twoStreams = """
        {"collection_timestamp": 1000, "health": [\
        {"stream": {"urn": "urn:health:a:main"}, "start_snapshot": {"repeat_interval_s": 1800}, \
        "check_states": [\(checkState("m1"))], "stop_snapshot": {}}, \
        {"stream": {"urn": "urn:health:a:main", "sub_stream_id": "eu"}, \
        "start_snapshot": {"repeat_interval_s": 60, "expiry_interval_s": 120}, \
        "check_states": [\(checkState("e1", "CRITICAL", message: "down")), \(checkState("e2"))], "stop_snapshot": {}}, \
        {"stream": {"urn": "urn:health:b:ti"}, "consistency_model": "TRANSACTIONAL_INCREMENTS", \
        "increment": {"checkpoint": {"offset": 7}}, "check_states": [\(checkState("t1", "DEVIATING"))]}\
        ]}
        """

    /// REPEAT_STATES at 1000 on `urn:health:c:states`: repeat 30 s, expiry 90 s, one check state.
    static let repeatStates = """
        {"collection_timestamp": 1000, "health": [{"stream": {"urn": "urn:health:c:states"}, \
        "consistency_model": "REPEAT_STATES", "expiry": {"repeat_interval_s": 30, "expiry_interval_s": 90}, \
        "check_states": [\(checkState("s1", "DEVIATING"))]}]}
        """

    /// At 2000, check states on `urn:health:a:main`'s main sub-stream outside any snapshot: an error.
    static let outsideSnapshot = """
        {"collection_timestamp": 2000, "health": [{"stream": {"urn": "urn:health:a:main"}, \
        "check_states": [\(checkState("m2"))]}]}
        """
}
