import NIOCore
import Synchronization

/// A member of ``EventLoopShards``: it records the shards it is in, so that it can leave them
/// all when its connection or response ends. Touched on its event loop only.
protocol EventLoopShardMember: AnyObject, SendableMetatype {
    var memberships: [EventLoopShards<Self>.Shard] { get set }
}

/// The members of a broadcast group (``WebSocketBroadcastGroup``,
/// ``ServerSentEventBroadcastGroup``), one shard per event loop: a broadcast goes to each
/// shard's members in one task on that shard's loop, and a shard is touched only there.
final class EventLoopShards<Member: EventLoopShardMember>: Sendable {
    /// The members on one event loop; touched only on that loop.
    final class Shard: @unchecked Sendable {
        let eventLoop: any EventLoop
        /// In no particular order (removal moves the last member into the gap).
        private(set) var members: [Member] = []
        private var indices: [ObjectIdentifier: Int] = [:]
        private weak var owner: EventLoopShards?

        init(eventLoop: any EventLoop, owner: EventLoopShards) {
            self.eventLoop = eventLoop
            self.owner = owner
        }

        /// Adds `member`; false if it is one already.
        @discardableResult
        func add(_ member: Member) -> Bool {
            let id = ObjectIdentifier(member)
            guard indices[id] == nil else { return false }
            indices[id] = members.count
            members.append(member)
            member.memberships.append(self)
            owner?.memberCount.add(1, ordering: .relaxed)
            return true
        }

        func remove(_ member: Member) {
            guard let index = indices.removeValue(forKey: ObjectIdentifier(member)) else { return }
            let last = members.removeLast()
            if index < members.count {
                members[index] = last
                indices[ObjectIdentifier(last)] = index
            }
            member.memberships.removeAll { $0 === self }
            owner?.memberCount.subtract(1, ordering: .relaxed)
        }
    }

    private let shards = Mutex<[ObjectIdentifier: Shard]>([:])
    fileprivate let memberCount = Atomic<Int>(0)

    init() {}

    /// Members now (approximate while adds and removes are on their way).
    var count: Int { memberCount.load(ordering: .relaxed) }

    /// The shard of `loop`'s members (made on first use).
    func shard(for loop: any EventLoop) -> Shard {
        shards.withLock { shards in
            let key = ObjectIdentifier(loop)
            if let shard = shards[key] { return shard }
            let shard = Shard(eventLoop: loop, owner: self)
            shards[key] = shard
            return shard
        }
    }

    /// Runs `body` on every shard, each on its own event loop; one future per shard.
    func submitToEach<Result: Sendable>(_ body: @escaping @Sendable (Shard) -> Result) -> [EventLoopFuture<Result>] {
        let all = shards.withLock { Array($0.values) }
        return all.map { shard in shard.eventLoop.submit { body(shard) } }
    }
}

extension EventLoopShardMember {
    /// Leaves every shard it is in (its connection closed, its response ended).
    func leaveShards() {
        for shard in memberships { shard.remove(self) }
    }
}
