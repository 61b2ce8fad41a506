namespace Strata.Artifacts;

/// <summary>The materializers every registry starts with, most specific first; JSON is the fallback.</summary>
internal static class BuiltInMaterializers
{
    public static IReadOnlyList<Materializer> All { get; } =
    [
        new PrimitiveMaterializer(),
        new BytesMaterializer(),
        new NumericArrayMaterializer(),
        new FileMaterializer(),
        new DirectoryMaterializer(),
        new JsonMaterializer(),
    ];
}
