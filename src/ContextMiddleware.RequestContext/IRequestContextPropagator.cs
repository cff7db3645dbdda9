using System.Diagnostics;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// Carries the request context over any transport (RabbitMQ, Kafka, a <c>Channel</c>, a job store): inject it into a
/// message's headers on the producer side, extract it on the consumer side, and run the handler in it. Extraction
/// follows exactly the rules of HTTP requests: the same trust policy, request-id validation, id generation and logging.
/// </summary>
/// <example>
/// <code>
/// // Producer, inside a request: RabbitMQ headers hold byte[] values; nothing is copied.
/// propagator.Inject(properties.Headers, static (headers, name, value) =&gt; headers[name] = Encoding.UTF8.GetBytes(value));
///
/// // Consumer: the handler runs with the producer's request id, under a consumer Activity in the producer's trace.
/// var context = propagator.Extract(message.Headers, static (headers, name) =&gt;
///     headers.TryGetValue(name, out var value) &amp;&amp; value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : StringValues.Empty);
/// await propagator.RunAsync(context, () =&gt; HandleAsync(message));
/// </code>
/// </example>
public interface IRequestContextPropagator
{
    /// <summary>
    /// Writes the current request id (under <see cref="RequestContextOptions.OutgoingRequestIdHeader"/>), the W3C
    /// <c>traceparent</c> (naming the current span as the parent) and <c>tracestate</c>, and the <c>baggage</c> of the
    /// registered variables' current values and the members passed on (<see cref="RequestContextOptions.Baggage"/>),
    /// and, when the app named a <see cref="RequestContextOptions.MessageUserIdHeader"/>, the current user's id, through
    /// <paramref name="setter"/>. The request id is written inside a request's (or message's) context; the trace headers
    /// whenever there is a current span: the current W3C <see cref="System.Diagnostics.Activity"/>, or else the
    /// context's <see cref="RequestContext.Trace"/>. With neither, nothing is written.
    /// </summary>
    /// <typeparam name="TCarrier">The type of the message's headers.</typeparam>
    /// <param name="carrier">The message's headers.</param>
    /// <param name="setter">Writes one header: the carrier, the name and the value.</param>
    void Inject<TCarrier>(TCarrier carrier, Action<TCarrier, string, string> setter);

    /// <summary>
    /// Reads a message's headers through <paramref name="getter"/> into a new <see cref="Context"/> holding
    /// <see cref="RequestContext.RequestId"/>, <see cref="RequestContext.ClientRequestId"/> and
    /// <see cref="RequestContext.Trace"/>, with the rules of HTTP requests: the request id is read from
    /// <see cref="RequestContextOptions.RequestIdHeaders"/> and believed when the trust policy trusts a caller with no
    /// address (<see cref="RequestContextTrust.Trust"/>), an invalid or untrusted id is replaced by a fresh one (and
    /// logged, inside the new context, without its value), an invalid or untrusted <c>traceparent</c> starts a new
    /// trace, and a trusted <c>baggage</c> sets the registered variables in the new context. The user is anonymous, unless the app opted in
    /// with <see cref="RequestContextOptions.MessageUserIdHeader"/> and the policy trusts <see cref="IncomingValue.UserId"/>:
    /// then the user has the message's user id as context and is not authenticated. The carrier is never modified.
    /// </summary>
    /// <typeparam name="TCarrier">The type of the message's headers.</typeparam>
    /// <param name="carrier">The message's headers.</param>
    /// <param name="getter">Reads one header: its values, or <see cref="StringValues.Empty"/> when absent.</param>
    /// <returns>The context to run the message's handler in, with <see cref="RunAsync"/>.</returns>
    Context Extract<TCarrier>(TCarrier carrier, Func<TCarrier, string, StringValues> getter);

    /// <summary>
    /// Runs <paramref name="handler"/> in <paramref name="context"/> under a consumer <see cref="Activity"/> (source
    /// <c>ContextMiddleware.AspNetCore</c>), a child of the producer's span, so that the handler's log events carry the
    /// ids (Serilog's <c>{TraceId}</c> included), its outgoing calls continue the trace, and OpenTelemetry exports the
    /// consumer span. <see cref="RequestContext.Trace"/> is the consumer span's inside the handler. The Activity ends
    /// when the handler's task completes; an exception marks it as an error, named by the exception's type.
    /// </summary>
    /// <param name="context">A context, usually from <see cref="Extract"/>; it is run, not copied, so it cannot run twice at once.</param>
    /// <param name="handler">The message handler.</param>
    /// <param name="displayName">The span's display name (for example <c>process orders</c>); by default the Activity's name.</param>
    /// <returns>The handler's task.</returns>
    Task RunAsync(Context context, Func<Task> handler, string? displayName = null);

    /// <summary>
    /// For transports of live calls (HTTP requests, hub invocations, gRPC calls): sets the request context of an
    /// incoming call in the calling flow, as <c>UseRequestContext()</c> does for every HTTP request. The request id is
    /// read from <see cref="RequestContextOptions.RequestIdHeaders"/> and believed when the trust policy trusts the
    /// source's address; the trace is <paramref name="activity"/>'s, or, without one, the caller's trusted
    /// <c>traceparent</c> continued with a fresh span id (or a new trace); the user reads the source's principal
    /// whenever it is asked for; a trusted caller's <c>baggage</c> sets the registered variables
    /// (<see cref="RequestContextOptions.Baggage"/>). What is wrong with the request id or the baggage is logged, with the
    /// new context.
    /// </summary>
    /// <param name="source">The call.</param>
    /// <param name="activity">The call's Activity, when the transport started one.</param>
    /// <returns>The values set, and whether the call must be rejected.</returns>
    IncomingCall BeginCall(IncomingCallSource source, Activity? activity);

    /// <summary>
    /// For transports that start a call's <see cref="Activity"/> from its trace headers before the call begins (SignalR
    /// does, for each hub invocation): whether a caller at <paramref name="remoteAddress"/> is believed with
    /// <c>traceparent</c>, <c>tracestate</c> and <c>baggage</c>, by the trust policy that <see cref="BeginCall"/> and
    /// HTTP requests use. A policy that throws answers "no", and its exception is returned in
    /// <paramref name="failure"/>: give it to <see cref="BeginCall"/> as the source's
    /// <see cref="IncomingCallSource.TrustFailure"/>, which logs it once, inside the call's context.
    /// </summary>
    /// <param name="remoteAddress">The caller's address; <see langword="null"/> when unknown.</param>
    /// <param name="failure">The exception the policy threw, or <see langword="null"/>.</param>
    /// <returns>Whether the trace headers are believed. The default implementation (for implementations written before
    /// this member) believes nobody.</returns>
    bool TrustsTraceContext(System.Net.IPAddress? remoteAddress, out Exception? failure)
    {
        failure = null;
        return false;
    }

    /// <summary>
    /// For transports that start a call's <see cref="Activity"/> from its headers before the call begins: whether a
    /// caller at <paramref name="remoteAddress"/> is believed with <c>baggage</c> (<see cref="IncomingValue.Baggage"/>),
    /// by the one trust policy; see <see cref="TrustsTraceContext"/> for <paramref name="failure"/>.
    /// </summary>
    /// <param name="remoteAddress">The caller's address; <see langword="null"/> when unknown.</param>
    /// <param name="failure">The exception the policy threw, or <see langword="null"/>.</param>
    /// <returns>Whether the baggage is believed. The default implementation believes nobody.</returns>
    bool TrustsBaggage(System.Net.IPAddress? remoteAddress, out Exception? failure)
    {
        failure = null;
        return false;
    }

    /// <summary>Writes the context into string headers; see <see cref="Inject{TCarrier}"/>.</summary>
    /// <param name="carrier">The message headers.</param>
    void Inject(IDictionary<string, string> carrier)
    {
        ArgumentNullException.ThrowIfNull(carrier);
        Inject(carrier, static (headers, name, value) => headers[name] = value);
    }

    /// <summary>Reads string headers into a new context; see <see cref="Extract{TCarrier}"/>.</summary>
    /// <param name="carrier">The message headers.</param>
    /// <returns>The context to run the message's handler in.</returns>
    Context Extract(IReadOnlyDictionary<string, string> carrier)
    {
        ArgumentNullException.ThrowIfNull(carrier);
        return Extract(carrier, static (headers, name) => headers.TryGetValue(name, out var value) ? value : StringValues.Empty);
    }
}
