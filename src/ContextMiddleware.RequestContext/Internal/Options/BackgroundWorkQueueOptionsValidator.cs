using Microsoft.Extensions.Options;

namespace ContextMiddleware.AspNetCore.Internal.Options;

/// <summary>
/// Validates <see cref="BackgroundWorkQueueOptions"/> by their data annotations, with code the options validation
/// source generator writes at build time (no reflection: trimming and Native AOT keep it whole).
/// </summary>
[OptionsValidator]
internal sealed partial class BackgroundWorkQueueOptionsValidator : IValidateOptions<BackgroundWorkQueueOptions>;
