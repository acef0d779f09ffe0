using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using GraphQL;
using GraphQL.SystemTextJson;

namespace AiWebEngine.GraphQL;

/// <summary>
/// The JSON of the GraphQL transports: GraphQL.NET's System.Text.Json converters, written straight
/// into the output buffer, with relaxed escaping (so <c>'</c> stays <c>'</c>, not <c>\u0027</c>).
/// </summary>
/// <remarks>
/// Output is always a single line (strings escape their line breaks), so a result fits in one SSE
/// <c>data:</c> line. Error messages are cut to <see cref="BoundedErrorInfoProvider.MaxMessageLength"/>.
/// </remarks>
internal sealed class GraphQLJson : GraphQLSerializer
{
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public GraphQLJson()
        : base(static o => o.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, new BoundedErrorInfoProvider())
    {
    }

    /// <summary>The serializer options with GraphQL.NET's converters.</summary>
    public JsonSerializerOptions Options => SerializerOptions;

    /// <summary>Writes <paramref name="result"/> as JSON to <paramref name="output"/>.</summary>
    public void Write(IBufferWriter<byte> output, ExecutionResult result)
    {
        using var writer = new Utf8JsonWriter(output, WriterOptions);
        JsonSerializer.Serialize(writer, result, Options);
    }

    /// <summary>Writes <paramref name="result"/> as a property value of an object being written.</summary>
    public void Write(Utf8JsonWriter writer, ExecutionResult result) => JsonSerializer.Serialize(writer, result, Options);

    /// <summary>Writes the errors of <paramref name="result"/> as a JSON array.</summary>
    public void WriteErrors(Utf8JsonWriter writer, ExecutionResult result) =>
        JsonSerializer.Serialize(writer, result.Errors ?? new ExecutionErrors(), Options);

    /// <summary>A JSON object as GraphQL <see cref="Inputs"/>.</summary>
    public Inputs ReadInputs(JsonElement element) => JsonSerializer.Deserialize<Inputs>(element, Options) ?? Inputs.Empty;

    /// <summary><paramref name="result"/> as UTF-8 JSON.</summary>
    public byte[] ToUtf8(ExecutionResult result)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(buffer, result);
        return buffer.WrittenSpan.ToArray();
    }
}
