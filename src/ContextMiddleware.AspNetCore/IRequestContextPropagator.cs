namespace ContextMiddleware.AspNetCore;

/// <summary>
/// Carries the request context over any transport whose messages have string headers (RabbitMQ, Kafka, a
/// <c>Channel</c>): inject it on the producer side, extract it on the consumer side and run the handler in it.
/// </summary>
/// <example>
/// <code>
/// // Producer, inside a request:
/// var headers = new Dictionary&lt;string, string&gt;();
/// propagator.Inject(headers);
/// await queue.PublishAsync(body, headers);
///
/// // Consumer:
/// var context = propagator.Extract(message.Headers);
/// await context.Run(() =&gt; HandleAsync(message));
/// </code>
/// </example>
public interface IRequestContextPropagator
{
    /// <summary>
    /// Writes the current request id (under <see cref="RequestContextOptions.OutgoingRequestIdHeader"/>) and the
    /// W3C <c>traceparent</c> and <c>tracestate</c> into <paramref name="carrier"/>. Writes nothing outside a request.
    /// </summary>
    /// <param name="carrier">The message headers.</param>
    void Inject(IDictionary<string, string> carrier);

    /// <summary>
    /// Reads a message's headers into a new <see cref="Context"/> holding <see cref="RequestContext.RequestId"/>,
    /// <see cref="RequestContext.ClientRequestId"/> and <see cref="RequestContext.Trace"/>, with the validation and
    /// trust rules that apply to HTTP requests: an invalid or untrusted request id is replaced by a fresh one and an
    /// invalid <c>traceparent</c> starts a new trace. The user is anonymous: identities do not travel in headers.
    /// </summary>
    /// <param name="carrier">The message headers.</param>
    /// <returns>The context to run the message's handler in, with <see cref="Context.Run{TResult}(Func{TResult})"/>.</returns>
    /// <remarks>
    /// Under <see cref="RequestContextTrust.TrustedNetworks"/> a message has no remote address, so its values are
    /// trusted only when <see cref="RequestContextOptions.IncomingRequestIds"/> is <see cref="RequestContextTrust.Trust"/>.
    /// </remarks>
    Context Extract(IReadOnlyDictionary<string, string> carrier);
}
