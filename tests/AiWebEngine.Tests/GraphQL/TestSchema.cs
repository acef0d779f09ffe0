using AiWebEngine.GraphQL;
using AiWebEngine.Tests.Infrastructure;
using GraphQL;
using GraphQL.Conversion;
using GraphQL.Resolvers;
using GraphQL.Types;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>
/// A hand-built schema standing in for the script schema: <c>hello(name)</c>, a <c>send</c> mutation that
/// publishes to <c>liveEvents</c>, and the <c>liveEvents</c> subscription on an event source the test
/// pushes to and whose subscribers it can count.
/// </summary>
public sealed class TestSchema : IGraphQLSchemaProvider
{
    public const string Sdl = """
        type Query {
          hello(name: String): String
          fail: String
        }

        type Mutation {
          send(message: String!): String
        }

        type Subscription {
          liveEvents: String
        }
        """;

    private ISchema _current;

    public TestSchema()
    {
        _current = Build();
    }

    public TestEventSource Events { get; } = new();

    public ISchema Current => Volatile.Read(ref _current);

    /// <summary>Replaces the schema with a new instance, as a script change would.</summary>
    public ISchema Swap()
    {
        var next = Build();
        Volatile.Write(ref _current, next);
        return next;
    }

    /// <summary>Starts the engine with this schema as its <see cref="IGraphQLSchemaProvider"/>.</summary>
    public static async Task<(EngineHost Host, TestSchema Schema)> StartAsync(
        bool kestrel = false,
        IReadOnlyDictionary<string, string?>? settings = null,
        TimeProvider? time = null)
    {
        var schema = new TestSchema();
        var host = await EngineHost.StartAsync(settings: settings, kestrel: kestrel, time: time,
            services: s => s.AddSingleton<IGraphQLSchemaProvider>(schema));
        return (host, schema);
    }

    private Schema Build()
    {
        var schema = Schema.For(Sdl, builder =>
        {
            builder.Types.For("Query").FieldFor("hello").Resolver =
                new FuncFieldResolver<object?>(ctx => $"Hello, {ctx.GetArgument<string?>("name") ?? "world"}!");
            builder.Types.For("Query").FieldFor("fail").Resolver =
                new FuncFieldResolver<object?>(_ => throw new ExecutionError("it failed"));
            builder.Types.For("Mutation").FieldFor("send").Resolver = new FuncFieldResolver<object?>(ctx =>
            {
                var message = ctx.GetArgument<string>("message");
                Events.Publish(message);
                return $"sent:{message}";
            });
            var live = builder.Types.For("Subscription").FieldFor("liveEvents");
            live.Resolver = new FuncFieldResolver<object?>(ctx => ctx.Source);
            live.StreamResolver = new SourceStreamResolver<object?>(_ => Events);
        });
        schema.NameConverter = DefaultNameConverter.Instance;
        schema.RegisterType(new IntGraphType());
        schema.RegisterType(new FloatGraphType());
        schema.RegisterType(new IdGraphType());
        schema.RegisterType(new BooleanGraphType());
        schema.Initialize();
        return schema;
    }
}

/// <summary>An event source the test pushes to; counts its subscribers.</summary>
public sealed class TestEventSource : IObservable<string>
{
    private readonly List<IObserver<string>> _observers = [];

    public int SubscriberCount
    {
        get
        {
            lock (_observers)
            {
                return _observers.Count;
            }
        }
    }

    public IDisposable Subscribe(IObserver<string> observer)
    {
        lock (_observers)
        {
            _observers.Add(observer);
        }

        return new Unsubscriber(this, observer);
    }

    public void Publish(string value)
    {
        foreach (var observer in Snapshot())
        {
            observer.OnNext(value);
        }
    }

    public void Complete()
    {
        foreach (var observer in Snapshot())
        {
            observer.OnCompleted();
        }
    }

    public void Fail(Exception error)
    {
        foreach (var observer in Snapshot())
        {
            observer.OnError(error);
        }
    }

    /// <summary>Waits until exactly <paramref name="count"/> subscribers are attached.</summary>
    public async Task WaitForSubscribersAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (SubscriberCount != count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"expected {count} subscriber(s), have {SubscriberCount}");
            await Task.Delay(10);
        }
    }

    private IObserver<string>[] Snapshot()
    {
        lock (_observers)
        {
            return [.. _observers];
        }
    }

    private sealed class Unsubscriber(TestEventSource source, IObserver<string> observer) : IDisposable
    {
        public void Dispose()
        {
            lock (source._observers)
            {
                source._observers.Remove(observer);
            }
        }
    }
}
