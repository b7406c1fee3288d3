import Maintenance
import StewardModel
import Testing

@Suite struct JobStateMachineTests {
    @Test func statusChangesWithoutForceFollowMattermost() {
        let allowed: [(JobStatus, JobStatus)] = [(.inProgress, .cancelRequested), (.pending, .cancelRequested), (.cancelRequested, .canceled)]
        for from in JobStatus.allCases {
            for to in JobStatus.allCases {
                let expected = allowed.contains { $0 == (from, to) }
                #expect(JobStateMachine.isValidStatusChange(from: from, to: to) == expected, "\(from) → \(to)")
            }
        }
    }

    @Test func cancellation() {
        #expect(JobStateMachine.cancellation(of: .pending) == .canceled)
        #expect(JobStateMachine.cancellation(of: .inProgress) == .cancelRequested)
        for s in [JobStatus.success, .error, .warning, .canceled, .cancelRequested] {
            #expect(JobStateMachine.cancellation(of: s) == nil)
        }
    }

    @Test func aCancelRequestWinsOverTheWorkersOutcome() {
        #expect(JobStateMachine.finish(current: .cancelRequested, outcome: .success) == .canceled)
        #expect(JobStateMachine.finish(current: .inProgress, outcome: .warning) == .warning)
        for ended in [JobStatus.success, .error, .warning, .canceled, .pending] {
            #expect(JobStateMachine.finish(current: ended, outcome: .success) == nil, "\(ended) was set by someone else and stays")
        }
    }

    @Test func permissionsPerType() {
        #expect(JobTypes.permissions("data_retention", .create) == [.createDataRetentionJob, .manageJobs])
        #expect(JobTypes.permissions("message_export", .download) == [.downloadComplianceExportResult])
        #expect(JobTypes.permissions("db_backup", .read) == [.readJobs])
        #expect(JobTypes.permissions("db_backup", .create) == [.manageJobs])
        #expect(JobTypes.permissions("last_accessible_post", .read) == nil)
        #expect(JobTypes.permissions("mobile_session_metadata", .create) == nil)
        #expect(JobTypes.permissions("mobile_session_metadata", .read) == [.readJobs])
        #expect(JobTypes.permissions("bogus", .read) == nil)
    }

    @Test func jobJSONIsMattermostsShape() {
        let job = Job(id: "abcdefghijklmnopqrstuvwxyz", type: "db_backup", createAt: 5, status: .pending)
        #expect(job.json == #"{"id":"abcdefghijklmnopqrstuvwxyz","type":"db_backup","priority":0,"create_at":5,"start_at":0,"last_activity_at":0,"status":"pending","progress":0,"data":{}}"#)
    }
}
