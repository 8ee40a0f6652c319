package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/llmos/llmos/chat"
	"github.com/llmos/llmos/engine"
	"github.com/llmos/llmos/tool"
	"github.com/peterh/liner"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() {
	var mf modelFlags
	var sf samplingFlags
	var system string
	var noTools, showTools bool
	c := &cobra.Command{
		Use:   "chat [-m FILE] [flags]",
		Short: "Chat with a model in the terminal (default: the built-in assistant)",
		Long: `chat holds a conversation with a model — without -m, the small assistant
built into llmos (see 'llmos recipe default') — formatting it with the model's own
chat template (tokenizer.chat_template, rendered as Hugging Face does) or
ChatML when the model has none.

In a terminal: line editing and history; Ctrl-C stops the answer being
written, Ctrl-D (or /exit) leaves. Commands:
  /reset         forget the conversation
  /system TEXT   set the system prompt (and start over)
  /exit          leave

When standard input is not a terminal, every line is one user turn and each
answer is printed on its own line, so scripts can pipe questions in.

When the model calls the built-in calculator tool (exact arithmetic), chat
runs it, gives the result back to the model as a tool message, and lets the
model finish its answer. --show-tools also describes the tool in the prompt
(the template's tools variable), for models that need to be told.`,
		Example: `  llmos chat
  llmos chat -m tinyllama-chat.Q4_K_M.gguf
  echo "What is 2+2?" | llmos chat -m model.gguf --temp 0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := mf.open()
			if err != nil {
				return err
			}
			defer e.Close()
			conv, err := e.NewChat(system)
			if err != nil {
				return err
			}
			if !noTools {
				conv.Tools = []tool.Tool{tool.Calculator{}}
				conv.ShowTools = showTools
			}
			if term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd())) {
				return chatInteractive(conv, &sf)
			}
			return chatPiped(conv, &sf, os.Stdin, os.Stdout)
		},
	}
	mf.register(c)
	sf.register(c, -1)
	c.Flags().StringVar(&system, "system", "", "system prompt")
	c.Flags().BoolVar(&noTools, "no-tools", false, "do not run tool calls")
	c.Flags().BoolVar(&showTools, "show-tools", false, "describe the tools in the prompt")
	rootCmd.AddCommand(c)
}

// chatCommand handles a /command line; it reports whether line was one and
// whether to leave.
func chatCommand(conv *engine.Chat, line string, out io.Writer) (handled, quit bool) {
	if !strings.HasPrefix(line, "/") {
		return false, false
	}
	name, arg, _ := strings.Cut(line, " ")
	switch name {
	case "/exit", "/quit", "/bye":
		return true, true
	case "/reset", "/clear":
		conv.Reset()
		fmt.Fprintln(out, "(conversation cleared)")
	case "/system":
		conv.SetSystem(strings.TrimSpace(arg))
		fmt.Fprintln(out, "(system prompt set; conversation cleared)")
	case "/help":
		fmt.Fprintln(out, "/reset  /system TEXT  /exit")
	default:
		fmt.Fprintf(out, "unknown command %s (try /help)\n", name)
	}
	return true, false
}

func chatInteractive(conv *engine.Chat, sf *samplingFlags) error {
	ln := liner.NewLiner()
	defer ln.Close()
	ln.SetCtrlCAborts(true)
	conv.OnToolCall = func(call chat.ToolCall, result string, err error) {
		if err != nil {
			fmt.Printf("\n[%s %s: %v]\n", call.Function.Name, call.Function.Arguments, err)
		} else {
			fmt.Printf("\n[%s %s = %s]\n", call.Function.Name, call.Function.Arguments, result)
		}
	}
	fmt.Println("Type a message; /help for commands, Ctrl-D to leave.")
	for {
		line, err := ln.Prompt(">>> ")
		if errors.Is(err, liner.ErrPromptAborted) {
			continue
		}
		if err != nil { // io.EOF on Ctrl-D
			fmt.Println()
			return nil
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		ln.AppendHistory(line)
		if handled, quit := chatCommand(conv, line, os.Stdout); quit {
			return nil
		} else if handled {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		res, err := conv.Send(ctx, line, sf.request(nil), func(p string) error {
			_, err := os.Stdout.WriteString(p)
			return err
		})
		stop()
		fmt.Println()
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
		} else if res.StopReason == "cancelled" {
			fmt.Println("(stopped)")
		}
	}
}

// chatPiped answers one user turn per input line.
func chatPiped(conv *engine.Chat, sf *samplingFlags, in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	w := bufio.NewWriter(out)
	defer w.Flush()
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if handled, quit := chatCommand(conv, line, w); quit {
			return nil
		} else if handled {
			continue
		}
		res, err := conv.Send(context.Background(), line, sf.request(nil), nil)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, strings.TrimSpace(res.Text))
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return sc.Err()
}
