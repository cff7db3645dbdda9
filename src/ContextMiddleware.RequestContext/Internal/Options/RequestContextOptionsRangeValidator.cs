using Microsoft.Extensions.Options;

namespace ContextMiddleware.AspNetCore.Internal.Options;

/// <summary>
/// The single-setting rules of <see cref="RequestContextOptions"/> (its data annotations, <see cref="RequestContextOptions.Properties"/>
/// included), checked by code the options validation source generator writes; the rules that span settings are
/// <see cref="RequestContextOptionsValidator"/>'s.
/// </summary>
[OptionsValidator]
internal sealed partial class RequestContextOptionsRangeValidator : IValidateOptions<RequestContextOptions>;
