using AiWebEngine.Streaming;
using System.Collections.Concurrent;
using System.Security.Claims;
using System.Text.Json;
using GraphQL;
using GraphQL.Transport;
using GraphQL.Types;
using Microsoft.Extensions.Options;

namespace AiWebEngine.GraphQL.Subscriptions;

/// <summary>
/// Runs the operations of the streaming transports (graphql-sse and graphql-transport-ws). Clients of
/// the same script subscription operation (same schema, document, operation name and variables) share
/// one execution per event, and so one encoded result. Clients of different users never share one.
/// </summary>
/// <remarks>
/// Each client's own execution validates its request and calls the script's resolver for its first
/// event; the bus events come from one execution per group, subscribed to the bus once (its subscriber
/// counts the group's clients, so <c>sendSubscriptionMessage</c> still returns the number of clients).
/// The group is created by its first client and ends with its last one, or when the subscription's
/// topic ends (reload or delete), which completes every client. A subscription field that is not a
/// script's runs per client as before.
/// Invariant: the group key holds the user id (<c>sub</c>, or none for anonymous clients), and the group's
/// execution runs as its first client's principal, so a subscription's <c>user</c> metadata, its filter's
/// <c>context.user</c> and every event it executes belong to that one user: one user's events can never
/// reach another user's client through a shared group.
/// </remarks>
internal sealed partial class GraphQLOperations(
    GraphQLExecutor executor,
    IServiceProvider services,
    IOptions<GraphQLOptions> options,
    ILogger<GraphQLOperations> logger,
    TimeProvider? time = null,
    Diagnostics.Metrics.EngineMetrics? metrics = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Diagnostics.Metrics.EngineMetrics? _metrics = metrics;
    private readonly GraphQLExecutor _executor = executor;
    private readonly IServiceProvider _services = services;
    private readonly ILogger _logger = logger;
    private readonly ConcurrentDictionary<Key, SharedSubscription> _shared = new();
    private readonly int _queueCapacity = options.Value.QueueCapacity;
    private long _eventsExecuted;

    /// <summary>Groups of clients sharing an execution now.</summary>
    public int SharedExecutions => _shared.Count;

    /// <summary>Bus events executed by shared executions since start (once per group, not per client).</summary>
    public long EventsExecuted => Interlocked.Read(ref _eventsExecuted);

    public GraphQLJson Json => _executor.Json;

    /// <summary>Runs <paramref name="request"/> for one client; see <see cref="GraphQLExecutor.ExecuteAsync"/>.</summary>
    public async Task<GraphQLOperation> RunAsync(
        ISchema schema,
        GraphQLRequest request,
        OperationKinds allowed,
        IServiceProvider requestServices,
        ClaimsPrincipal? user,
        IHeaderDictionary? headers,
        CancellationToken cancellationToken,
        string? client = null)
    {
        var role = SubscriptionRole.FirstEvent();
        var result = await _executor.ExecuteAsync(schema, request, allowed, requestServices, user, headers, role, cancellationToken, client);
        if (result.Streams is not { Count: > 0 } streams || !role.Honored)
        {
            return GraphQLOperation.Unshared(result, _executor.Json);
        }

        var key = new Key(schema, request.Query ?? "", request.OperationName, Serialize(request.Variables), Security.ScriptUser.Id(user));
        return new GraphQLOperation(result, new SharedEvents(this, key, request, user, streams.Values.First()));
    }

    private string Serialize(Inputs? variables) =>
        variables is null || variables.Count == 0 ? "" : JsonSerializer.Serialize(variables, _executor.Json.Options);

    private Member Join(Key key, GraphQLRequest request, ClaimsPrincipal? user, IObservable<ExecutionResult> firstEvent, IObserver<SubscriptionEvent> observer)
    {
        var member = new Member(observer, _executor.Json, _queueCapacity);
        while (true)
        {
            var group = _shared.GetOrAdd(key, static (k, state) => new SharedSubscription(state.Owner, k, state.Request, state.User), (Owner: this, Request: request, User: user));
            if (group.TryAdd(member))
            {
                member.Group = group;
                group.EnsureStarted();
                break;
            }

            // A group that has just ended and is still in the table: take it out and make a new one.
            _shared.TryRemove(new(key, group));
        }

        member.Start(firstEvent);
        return member;
    }

    private readonly record struct Key(ISchema Schema, string Query, string? OperationName, string Variables, string? User);

    private sealed class SharedEvents(GraphQLOperations owner, Key key, GraphQLRequest request, ClaimsPrincipal? user, IObservable<ExecutionResult> firstEvent) : IObservable<SubscriptionEvent>
    {
        private int _subscribed;

        public IDisposable Subscribe(IObserver<SubscriptionEvent> observer) =>
            Interlocked.Exchange(ref _subscribed, 1) == 0
                ? owner.Join(key, request, user, firstEvent, observer)
                : throw new InvalidOperationException("A client's subscription is observed once.");
    }

    /// <summary>The clients of one subscription operation and the one execution of its bus events.</summary>
    private sealed class SharedSubscription(GraphQLOperations owner, Key key, GraphQLRequest request, ClaimsPrincipal? user) : IObserver<ExecutionResult>
    {
        private readonly Lock _sync = new();
        private Member[] _members = [];
        private FanOutQueue<Item>? _fanOut;
        private Streaming.TopicSubscriber? _bus;
        private IDisposable? _upstream;
        private bool _closed;
        private int _started;

        public bool TryAdd(Member member)
        {
            lock (_sync)
            {
                if (_closed)
                {
                    return false;
                }

                _members = [.. _members, member];
                CountClients();
                return true;
            }
        }

        public void Remove(Member member)
        {
            lock (_sync)
            {
                if (_closed || Array.IndexOf(_members, member) < 0)
                {
                    return;
                }

                _members = [.. _members.Where(m => m != member)];
                CountClients();
                if (_members.Length > 0)
                {
                    return;
                }

                _closed = true;
            }

            End();
        }

        public void EnsureStarted()
        {
            if (Interlocked.Exchange(ref _started, 1) == 0)
            {
                _ = StartAsync();
            }
        }

        private async Task StartAsync()
        {
            try
            {
                var role = SubscriptionRole.Events(subscriber =>
                {
                    lock (_sync)
                    {
                        _bus = subscriber;
                        CountClients();
                    }
                });
                var result = await owner._executor.ExecuteAsync(key.Schema, request, OperationKinds.Subscription, owner._services, user, null, role, CancellationToken.None);
                if (result.Streams is not { Count: > 0 } streams || !role.Honored)
                {
                    OnError(new ExecutionError("The subscription's event stream could not be started.") { Code = "SUBSCRIPTION_FAILED" });
                    return;
                }

                var upstream = streams.Values.First().Subscribe(this);
                if (Interlocked.CompareExchange(ref _upstream, upstream, null) is not null)
                {
                    upstream.Dispose(); // the last client left while it started
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                SharedStartFailed(owner._logger, key.OperationName ?? "(anonymous)", e);
                OnError(e);
            }
        }

        // The execution's events, its error and its end go to the clients through the fan-out, in order.
        public void OnNext(ExecutionResult value)
        {
            Interlocked.Increment(ref owner._eventsExecuted);
            FanOut().Post(new(new SubscriptionEvent(value, owner._executor.Json), null));
        }

        public void OnError(Exception error) => FanOut().Post(new(null, error));

        public void OnCompleted() => FanOut().Post(new(null, null));

        private FanOutQueue<Item> FanOut() =>
            Volatile.Read(ref _fanOut) ?? Interlocked.CompareExchange(ref _fanOut, new(Dispatch), null) ?? _fanOut;

        /// <summary>
        /// Delivers the events posted since the last pass to every client, a chunk at a time: its frames are
        /// encoded once, and go straight to the socket of every graphql-sse client whose writer is idle.
        /// </summary>
        private void Dispatch(List<Item> batch)
        {
            for (var start = 0; start < batch.Count;)
            {
                if (batch[start].Event is null)
                {
                    // The end: nothing is posted after it that a client could still receive.
                    var error = batch[start].Error;
                    foreach (var member in Close())
                    {
                        if (error is null)
                        {
                            member.OnCompleted();
                        }
                        else
                        {
                            member.OnError(error);
                        }
                    }

                    return;
                }

                var count = DirectSendGate.Take(batch, start, static item => item.Event!.Payload, static item => item.Event is null);
                var events = new SubscriptionEvent[count];
                for (var i = 0; i < count; i++)
                {
                    events[i] = batch[start + i].Event!;
                }

                var members = Volatile.Read(ref _members);
                var chunk = members.Any(m => m.TakesBatches) ? DirectSendGate.Chunk(batch, start, count, static item => item.Event!.SseFrame) : [];
                var sent = FanOutPass.Run(members, (events, chunk, now: owner._time.GetTimestamp()), static (member, pass) => member.OnShared(pass.events, pass.chunk, pass.now));
                owner._metrics?.FramesDelivered(sent * count);

                start += count;
            }
        }

        private readonly record struct Item(SubscriptionEvent? Event, Exception? Error);

        private Member[] Close()
        {
            Member[] members;
            lock (_sync)
            {
                members = _members;
                _members = [];
                if (_closed)
                {
                    return members;
                }

                _closed = true;
            }

            End();
            return members;
        }

        private void End()
        {
            owner._shared.TryRemove(new(key, this));
            Interlocked.Exchange(ref _upstream, Disposed.Instance)?.Dispose();
        }

        // Under _sync. The bus counts the clients behind the one subscriber.
        private void CountClients()
        {
            if (_bus is { } bus && _members.Length > 0)
            {
                bus.Clients = _members.Length;
            }
        }
    }

    /// <summary>
    /// One client of a shared subscription: its own first event, then the group's events. Events the
    /// group delivers before the first event is out wait (in order, up to the queue capacity).
    /// </summary>
    private sealed class Member(IObserver<SubscriptionEvent> observer, GraphQLJson json, int capacity) : IObserver<ExecutionResult>, IDisposable
    {
        private readonly Lock _sync = new();
        private List<SubscriptionEvent>? _pending = [];
        private IDisposable? _firstEvent;
        private bool _ended;
        private int _left;

        public SharedSubscription? Group { get; set; }

        public void Start(IObservable<ExecutionResult> firstEvent)
        {
            var subscription = firstEvent.Subscribe(this);
            if (Interlocked.CompareExchange(ref _firstEvent, subscription, null) is not null)
            {
                subscription.Dispose();
            }
        }

        /// <summary>Whether the client takes the group's events in batches with their encoded chunk.</summary>
        public bool TakesBatches => observer is ISubscriptionEventBatches;

        /// <returns>Whether the events' chunk went straight to the client's socket.</returns>
        public bool OnShared(ReadOnlySpan<SubscriptionEvent> events, ReadOnlySpan<byte> chunk, long now)
        {
            lock (_sync)
            {
                if (_ended)
                {
                    return false;
                }

                if (_pending is null)
                {
                    if (observer is ISubscriptionEventBatches batches)
                    {
                        return batches.OnNextBatch(events, chunk, now);
                    }

                    foreach (var value in events)
                    {
                        observer.OnNext(value);
                    }

                    return false;
                }

                if (_pending.Count + events.Length <= capacity)
                {
                    _pending.AddRange(events);
                    return false;
                }
            }

            OnError(new ExecutionError("The subscription fell too far behind its events and was ended; subscribe again.") { Code = "SUBSCRIPTION_OVERFLOW" });
            return false;
        }

        // The client's own execution: its first event (if the resolver returned one), then completion.
        void IObserver<ExecutionResult>.OnNext(ExecutionResult value)
        {
            lock (_sync)
            {
                if (!_ended)
                {
                    observer.OnNext(new SubscriptionEvent(value, json));
                }
            }
        }

        void IObserver<ExecutionResult>.OnCompleted()
        {
            lock (_sync)
            {
                if (_ended || _pending is null)
                {
                    return;
                }

                foreach (var value in _pending)
                {
                    observer.OnNext(value);
                }

                _pending = null;
            }
        }

        public void OnError(Exception error)
        {
            if (End())
            {
                observer.OnError(error);
            }
        }

        public void OnCompleted()
        {
            if (End())
            {
                observer.OnCompleted();
            }
        }

        public void Dispose() => End();

        private bool End()
        {
            lock (_sync)
            {
                if (_ended)
                {
                    return false;
                }

                _ended = true;
                _pending = null;
            }

            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                Interlocked.Exchange(ref _firstEvent, Disposed.Instance)?.Dispose();
                Group?.Remove(this);
            }

            return true;
        }
    }

    private sealed class Disposed : IDisposable
    {
        public static readonly Disposed Instance = new();

        public void Dispose()
        {
        }
    }

    [LoggerMessage(EventId = 1440, Level = LogLevel.Error, Message = "The shared execution of subscription operation {OperationName} failed to start")]
    private static partial void SharedStartFailed(ILogger logger, string operationName, Exception exception);
}
