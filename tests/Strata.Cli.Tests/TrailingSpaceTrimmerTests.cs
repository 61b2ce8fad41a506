namespace Strata.Cli.Tests;

public sealed class TrailingSpaceTrimmerTests
{
    /// <summary>Records each write it is handed, as the console's writer would make each one a system call.</summary>
    private sealed class RecordingWriter : StringWriter
    {
        public List<string> Writes { get; } = [];

        public override void Write(char value) => Writes.Add(value.ToString());

        public override void Write(string? value) => Writes.Add(value ?? "");
    }

    [Fact]
    public void Hands_on_each_line_whole_without_its_trailing_spaces()
    {
        var inner = new RecordingWriter();
        var trimmer = new TrailingSpaceTrimmer(inner);

        foreach (var piece in new[] { "  STEP", "   ", "STATUS", "    ", "\n", "  a", " ", "b", "  ", "\r\n" })
            trimmer.Write(piece);

        Assert.Equal(["  STEP   STATUS\n", "  a b\r\n"], inner.Writes);
    }

    [Fact]
    public void Flush_hands_on_a_line_not_yet_ended_and_keeps_its_spaces_for_what_follows()
    {
        var inner = new RecordingWriter();
        var trimmer = new TrailingSpaceTrimmer(inner);

        trimmer.Write("Run r1  ");
        trimmer.Flush();
        Assert.Equal(["Run r1"], inner.Writes);

        trimmer.Write("done  \n");
        Assert.Equal(["Run r1", "  done\n"], inner.Writes);
    }
}
