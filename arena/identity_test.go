package arena

import "testing"

func TestNamesItself(t *testing.T) {
	tests := []struct {
		answer, model string
		want          bool
	}{
		{"I am Llama, a model trained by Meta.", "llama-3.1-8b-instruct", true},
		{"As LLaMA-3 I cannot browse.", "/models/Llama-3.1-8B-Instruct.Q4_K_M.gguf", true},
		{"I'm llama3, happy to help", "llama-3.1-8b-instruct", true},
		{"Ｌｌａｍａ here.", "llama-3.1-8b-instruct", true},
		{"I am Lla\u200bma.", "llama-3.1-8b-instruct", true},
		{"I am Qwen, created by Alibaba Cloud.", "Qwen2.5-7B-Instruct", true},
		{"This is qwen2.5 speaking", "qwen2.5-0.5b-instruct-q8_0.gguf", true},
		{"TinyLlama at your service", `C:\models\TinyLlama-1.1B-Chat-v1.0.gguf`, true},
		{"I am an AI assistant.", "llama-3.1-8b-instruct", false},
		{"Llamas live in the Andes.", "llama-3.1-8b-instruct", false},
		{"I am Mistral, an AI assistant.", "llama-3.1-8b-instruct", false},
		{"I am Qwen.", "tinyllama-1.1b-chat", false},
		{"Tiny llama facts: they hum.", "tinyllama-1.1b-chat", false},
		{"Phi-3 reporting.", "phi3-mini-4k", true},
		{"phi is the golden ratio", "phi3-mini-4k", true},
		{"Open models are great", "open-llama-3b", false},
		{"OpenLLaMA was trained on RedPajama; I am llama.", "open-llama-3b", true},
		{"My name is GPT-4o.", "gpt-4o-mini", true},
		{"o1 here", "o1", true},
		{"o is a letter", "o1", false},
		{"anything", "", false},
		{"", "llama", false},
		{"anything", "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.model+"/"+tt.answer, func(t *testing.T) {
			if got := NamesItself(tt.answer, tt.model); got != tt.want {
				t.Errorf("NamesItself(%q, %q) = %v, want %v (names %q)", tt.answer, tt.model, got, tt.want, identityNames(tt.model))
			}
		})
	}
}

func BenchmarkNamesItself(b *testing.B) {
	answer := "Sure! Here is a long answer about the history of camelids, including alpacas, vicuñas and guanacos, which live in the Andes. "
	for b.Loop() {
		NamesItself(answer, "/models/Llama-3.1-8B-Instruct.Q4_K_M.gguf")
	}
}
